// In-process single flight: at most one running task per key; callers that arrive meanwhile share its outcome.

export class SingleFlight {
  private readonly running = new Map<string, Promise<unknown>>();

  /**
   * Runs `task` unless one is already running for `key`, in which case that one's promise is returned.
   * Every caller of one key must pass tasks with the same result type (a key names one kind of work).
   */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const running = this.running.get(key);
    if (running !== undefined) return running as Promise<T>;
    const flight = Promise.resolve()
      .then(task)
      .finally(() => this.running.delete(key));
    this.running.set(key, flight);
    return flight;
  }
}
