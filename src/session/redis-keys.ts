// The names a Redis session store uses under its prefix, and its two scripts. On a Cluster a session's key carries
// a hash tag, so its lock and its record live in the same slot.
export class RedisKeys {
  readonly evictionChannel: string;
  private readonly tag: (part: string) => string;

  constructor(
    private readonly prefix: string,
    sharded: boolean,
  ) {
    this.evictionChannel = `${prefix}evict`;
    this.tag = sharded ? (part) => `{${part}}` : (part) => part;
  }

  session(key: string): string {
    return `${this.prefix}s:${this.tag(key)}`;
  }

  lock(key: string): string {
    return `${this.prefix}lock:${this.tag(key)}`;
  }

  sid(sid: string): string {
    return `${this.prefix}sid:${sid}`;
  }

  sub(sub: string): string {
    return `${this.prefix}sub:${sub}`;
  }

  once(id: string): string {
    return `${this.prefix}once:${id}`;
  }
}

/** Deletes the lock only if it still holds our token (it may have expired and been taken by another replica). */
export const RELEASE_LOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
/** Adds a session to a sid/sub index and keeps the index alive at least as long as that session (works on Redis < 7). */
export const INDEX_ADD =
  "redis.call('SADD', KEYS[1], ARGV[1]) if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 1";
