// The Redis client costs a process 6 to 12 MiB of RSS and 3 MiB of heap at start: a replica on the memory store never loads it.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { distModule } from '../../helpers/gatehouse-process.js';

const dist = (path: string): string => JSON.stringify(distModule(path));

/** Which stores were built, and whether the `redis` package was loaded after each: printed by a fresh process. */
function loadedAfter(stores: string[]): string[] {
  const script = `
    import { createRequire } from 'node:module';
    await import(${dist('gatehouse.js')});
    const { createSessionStore } = await import(${dist('session/create-store.js')});
    const { configSchema } = await import(${dist('config/schema.js')});
    const { createLogger } = await import(${dist('ops/logger.js')});
    const { Sealer } = await import(${dist('session/sealer.js')});
    const redisLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('/node_modules/redis/'));
    console.log('started: ' + redisLoaded());
    for (const store of ${JSON.stringify(stores)}) {
      // nothing listens on port 1: the redis store resolves after its first failed connection attempt
      const config = configSchema.parse({ session: { store, redis: { url: 'redis://127.0.0.1:1' } } });
      const built = await createSessionStore(config, { sealer: new Sealer(['x'.repeat(32)]), logger: createLogger({ level: 'silent' }) });
      console.log(store + ': ' + redisLoaded());
      await built.close();
    }`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  expect(child.stderr).toBe('');
  return child.stdout.split('\n').filter(Boolean);
}

describe('the Redis client', () => {
  it('is not loaded by gatehouse nor by a memory store', () => {
    expect(loadedAfter(['memory'])).toEqual(['started: false', 'memory: false']);
  });

  it('is loaded when a redis store is built', () => {
    expect(loadedAfter(['memory', 'redis'])).toEqual(['started: false', 'memory: false', 'redis: true']);
  });
});
