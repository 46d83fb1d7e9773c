import { describe, expect, it } from 'vitest';
import { Readiness } from '../../../src/ops/readiness.js';

describe('Readiness', () => {
  it('is ready only when no condition is blocked, and names the blocked ones', () => {
    const readiness = new Readiness();
    expect(readiness.ready).toBe(true);
    readiness.block('provider', 'provider metadata not loaded yet');
    readiness.block('session-store', 'Redis unreachable');
    expect(readiness.ready).toBe(false);
    expect(readiness.reasons()).toEqual({ provider: 'provider metadata not loaded yet', 'session-store': 'Redis unreachable' });
    readiness.unblock('provider');
    expect(readiness.reasons()).toEqual({ 'session-store': 'Redis unreachable' });
  });

  it('whenReady resolves at once when ready, else only after the last condition is unblocked', async () => {
    const readiness = new Readiness();
    await readiness.whenReady();
    readiness.block('provider', 'loading');
    readiness.block('session-store', 'connecting');
    let resolved = false;
    const waiting = readiness.whenReady().then(() => (resolved = true));
    readiness.unblock('provider');
    await Promise.resolve();
    expect(resolved).toBe(false);
    readiness.unblock('session-store');
    await waiting;
    expect(resolved).toBe(true);
  });
});
