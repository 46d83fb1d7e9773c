// Readiness: named conditions that must all hold before /readyz answers 200 (provider metadata, session store, not draining).

export class Readiness {
  private readonly pending = new Map<string, string>();
  private waiters: Array<() => void> = [];

  /** Marks `name` as not ready, with a reason shown on /readyz. */
  block(name: string, reason: string): void {
    this.pending.set(name, reason);
  }

  unblock(name: string): void {
    this.pending.delete(name);
    if (this.pending.size > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once every condition holds (at once when they already do). */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  get ready(): boolean {
    return this.pending.size === 0;
  }

  reasons(): Record<string, string> {
    return Object.fromEntries(this.pending);
  }
}
