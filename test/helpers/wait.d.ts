export interface WaitOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** Default 10. */
  intervalMs?: number;
  /** What was awaited, for the timeout error; a function is called only then (e.g. to add a log). */
  what?: string | (() => string);
}

/**
 * Polls `check` until it returns (or resolves) true and resolves with the milliseconds that took; rejects after
 * `timeoutMs` with an error naming `what`.
 */
export function waitFor(check: () => boolean | Promise<boolean>, options?: WaitOptions): Promise<number>;
