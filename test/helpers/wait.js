// The one way tests, the bench and the soak script wait for something another process, socket or timer will do:
// poll a condition until it holds. On performance.now and the real timers of node:timers/promises, so a test that
// fakes Date or the global timers does not stop it. Plain JavaScript (types in wait.d.ts) so that node runs it directly.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` until it returns (or resolves) true and resolves with the milliseconds that took; rejects after
 * `timeoutMs` with an error naming `what`.
 * @param {() => boolean | Promise<boolean>} check
 * @param {{ timeoutMs?: number, intervalMs?: number, what?: string | (() => string) }} [options]
 * @returns {Promise<number>}
 */
export async function waitFor(check, { timeoutMs = 5_000, intervalMs = 10, what = 'condition' } = {}) {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`${typeof what === 'function' ? what() : what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
  return Math.round(performance.now() - started);
}
