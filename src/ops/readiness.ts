// Readiness: named conditions that must all hold before /readyz answers 200 (provider metadata, session store, not draining).

export class Readiness {
  private readonly pending = new Map<string, string>();

  /** Marks `name` as not ready, with a reason shown on /readyz. */
  block(name: string, reason: string): void {
    this.pending.set(name, reason);
  }

  unblock(name: string): void {
    this.pending.delete(name);
  }

  get ready(): boolean {
    return this.pending.size === 0;
  }

  reasons(): Record<string, string> {
    return Object.fromEntries(this.pending);
  }
}
