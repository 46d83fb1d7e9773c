// The names a Redis session store uses under its prefix. On a Cluster a session's key carries a hash tag, so its
// lock and its record live in the same slot.
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
