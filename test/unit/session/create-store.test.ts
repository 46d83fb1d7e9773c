import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/ops/logger.js';
import { createSessionStore } from '../../../src/session/create-store.js';
import { MemoryStore } from '../../../src/session/memory-store.js';
import { Sealer } from '../../../src/session/sealer.js';
import type { SessionRecord } from '../../../src/session/types.js';

const START = 1_700_000_000_000;

function record(key: string, now: number): SessionRecord {
  return {
    key,
    claims: { sub: key },
    roles: [],
    idToken: 't',
    tokensExpireAt: now + 1000,
    createdAt: now,
    expiresAt: now + 3600_000,
    lastSeenAt: now,
    refreshAt: now,
  };
}

describe('createSessionStore', () => {
  it('builds a memory store bounded by max_sessions with the configured idle timeout', async () => {
    const config = configSchema.parse({ session: { store: 'memory', max_sessions: 2, idle_timeout: '10m' } });
    let time = START;
    const evicted: string[] = [];
    const store = await createSessionStore(config, {
      sealer: new Sealer(['x'.repeat(32)]),
      logger: createLogger({ level: 'silent', sync: true }),
      now: () => time,
      onEvict: (reason) => evicted.push(reason),
    });
    expect(store).toBeInstanceOf(MemoryStore);
    expect(store.ready).toBe(true);
    for (const key of ['a', 'b', 'c']) await store.set(record(key, time));
    expect(store.size).toBe(2);
    expect(evicted).toEqual(['capacity']);
    time += 10 * 60_000;
    expect(store.peek('c')).toBeUndefined();
    expect(evicted).toEqual(['capacity', 'idle']);
    await store.close();
  });
});
