// Sessions on a real memory store and session cookie, with the clock in the test's hands: renewal before and after
// token expiry, refresh failures, absolute expiry, idle timeout, and the single-flight lock, in process and across
// replicas. The provider is a token endpoint written for the test (the integration tests use the real one).
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProviderTokens } from '../../../src/authenticate/provider.js';
import { ProviderRefusedError, ProviderUnavailableError } from '../../../src/errors.js';
import { createLogger } from '../../../src/ops/logger.js';
import { MemoryStore } from '../../../src/session/memory-store.js';
import { SessionCookie } from '../../../src/session/session-cookie.js';
import { Sessions, type ResolvedSession, type SessionsOptions, type TokenRefresher } from '../../../src/session/sessions.js';
import type { SessionRecord } from '../../../src/session/types.js';

const START = 1_700_000_000_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const TOKEN_LIFETIME = 10 * MINUTE;
const REFRESH_BEFORE = 2 * MINUTE;
const REFRESH_INTERVAL = 5 * MINUTE;
const TTL = 8 * HOUR;
const IDLE = HOUR;
/** The wait of a replica that found the lock held, and the retry delay after a failed refresh (sessions.ts). */
const LOCK_HELD_WAIT_MS = 200;
const REFRESH_RETRY_MS = 30_000;

const HEADERS = {
  user: 'X-Forwarded-User',
  email: 'X-Forwarded-Email',
  preferred_username: 'X-Forwarded-Preferred-Username',
  name: 'X-Forwarded-Name',
  roles: 'X-Forwarded-Roles',
  assertion: 'X-Gatehouse-Assertion',
};

class Clock {
  time = START;
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

type Answer = (refreshToken: string) => Promise<ProviderTokens>;

/** The provider's token endpoint: issues numbered tokens, or answers as the test says for the next calls. */
class TokenEndpoint implements TokenRefresher {
  readonly calls: string[] = [];
  readonly answers: Answer[] = [];
  roles = ['reader'];
  private issued = 0;

  constructor(private readonly clock: Clock) {}

  tokens(overrides: Partial<ProviderTokens> = {}): ProviderTokens {
    this.issued++;
    return {
      claims: { sub: 'carol', email: 'carol@example.test', roles: this.roles },
      idToken: `id-${this.issued}`,
      accessToken: `access-${this.issued}`,
      refreshToken: `refresh-${this.issued}`,
      expiresAt: this.clock.now() + TOKEN_LIFETIME,
      ...overrides,
    };
  }

  refresh(refreshToken: string): Promise<ProviderTokens> {
    this.calls.push(refreshToken);
    const answer = this.answers.shift();
    return answer ? answer(refreshToken) : Promise.resolve(this.tokens());
  }
}

/** A memory store whose refresh lock is shared with other replicas, like Redis's: held means held, no waiting in line. */
class ReplicaStore extends MemoryStore {
  constructor(
    private readonly locks: Set<string>,
    options: ConstructorParameters<typeof MemoryStore>[0],
  ) {
    super(options);
  }

  override async withLock<T>(key: string, task: () => Promise<T>): Promise<T | undefined> {
    if (this.locks.has(key)) return undefined;
    this.locks.add(key);
    try {
      return await task();
    } finally {
      this.locks.delete(key);
    }
  }
}

interface Harness {
  sessions: Sessions;
  store: MemoryStore;
  provider: TokenEndpoint;
  clock: Clock;
  refreshes: string[];
  logs: Array<{ level: string; msg: string }>;
  /** Resolves at the next refresh outcome event. */
  nextRefresh(): Promise<string>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function harness(options: { store?: MemoryStore; clock?: Clock; provider?: TokenEndpoint; sessions?: Partial<SessionsOptions> } = {}): Harness {
  const clock = options.clock ?? new Clock();
  const store = options.store ?? new MemoryStore({ maxSessions: 100, idleTimeoutMs: IDLE, now: clock.now, sweepIntervalMs: 0 });
  cleanups.push(() => store.close());
  const provider = options.provider ?? new TokenEndpoint(clock);
  const logs: Array<{ level: string; msg: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as { level: string; msg: string });
      callback();
    },
  });
  const refreshes: string[] = [];
  const waiting: Array<(outcome: string) => void> = [];
  const cookie = new SessionCookie({ secrets: ['unit-test-session-secret-0123456789-abcdef'], name: 'gatehouse_session', secure: false, maxAgeMs: TTL });
  const sessions = new Sessions(
    {
      ttlMs: TTL,
      refreshBeforeMs: REFRESH_BEFORE,
      refreshIntervalMs: REFRESH_INTERVAL,
      hotSessions: 100,
      identityHeaders: HEADERS,
      passAccessToken: true,
      roles: { policy: { claim: 'roles', map: new Map(), passUnmapped: false, defaults: [] }, required: true },
      policyClaimKeys: [],
      offlineAccess: true,
      now: clock.now,
      wait: () => Promise.reject(new Error('no lock is held elsewhere in this test')),
      ...options.sessions,
    },
    store,
    cookie,
    provider,
    undefined,
    {
      logger: createLogger({ level: 'debug', sync: true, destination }),
      events: {
        refresh: (outcome) => {
          refreshes.push(outcome);
          for (const resolve of waiting.splice(0)) resolve(outcome);
        },
      },
    },
  );
  const nextRefresh = (): Promise<string> => new Promise((resolve) => waiting.push(resolve));
  return { sessions, store, provider, clock, refreshes, logs, nextRefresh };
}

async function signIn(h: Harness, tokens = h.provider.tokens()): Promise<string> {
  const { cookieValue } = await h.sessions.create(tokens);
  return cookieValue;
}

function header(session: ResolvedSession | undefined, name: string): string | undefined {
  const identity = session?.identity ?? [];
  const at = identity.indexOf(name);
  return at === -1 ? undefined : identity[at + 1];
}

describe('Sessions: renewal', () => {
  it('a fresh session resolves synchronously from the cache, with its identity headers', async () => {
    const h = harness();
    const cookie = await signIn(h);
    const resolved = h.sessions.resolve(cookie);
    expect(resolved).not.toBeInstanceOf(Promise);
    const session = resolved as ResolvedSession;
    expect(header(session, HEADERS.user)).toBe('carol');
    expect(header(session, HEADERS.roles)).toBe('reader');
    expect(header(session, 'x-forwarded-access-token')).toBe('access-1');
    expect(session.record.refreshAt).toBe(START + REFRESH_INTERVAL);
    expect(session.record.expiresAt).toBe(START + TTL);
    expect(h.provider.calls).toEqual([]);
  });

  it('refresh due, tokens still valid: the request goes on with the current tokens while the renewal runs; the next one has the new tokens and roles', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.provider.roles = ['editor'];
    h.clock.advance(REFRESH_INTERVAL);
    const renewed = h.nextRefresh();
    const during = h.sessions.resolve(cookie) as ResolvedSession;
    expect(header(during, 'x-forwarded-access-token')).toBe('access-1');
    expect(await renewed).toBe('ok');
    expect(h.provider.calls).toEqual(['refresh-1']);
    const after = (await h.sessions.resolve(cookie)) as ResolvedSession;
    expect(header(after, 'x-forwarded-access-token')).toBe('access-2');
    expect(header(after, HEADERS.roles)).toBe('editor');
    expect(after.record.refreshToken).toBe('refresh-2');
    expect(after.record.refreshAt).toBe(h.clock.now() + REFRESH_INTERVAL);
  });

  it('refresh_before decides when tokens expire sooner than refresh_interval', async () => {
    const h = harness();
    const cookie = await signIn(h, h.provider.tokens({ expiresAt: START + 3 * MINUTE }));
    const session = h.sessions.resolve(cookie) as ResolvedSession;
    expect(session.record.refreshAt).toBe(START + 3 * MINUTE - REFRESH_BEFORE);
  });

  it('tokens expired: the request waits for the renewal and goes on with the new tokens', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.clock.advance(TOKEN_LIFETIME);
    const resolved = h.sessions.resolve(cookie);
    expect(resolved).toBeInstanceOf(Promise);
    expect(header(await resolved, 'x-forwarded-access-token')).toBe('access-2');
    expect(h.refreshes).toEqual(['ok']);
  });

  it('a renewal without a new refresh token or access token keeps the old ones; the subject never changes', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.provider.answers.push(() =>
      Promise.resolve(h.provider.tokens({ refreshToken: undefined, accessToken: undefined, claims: { sub: 'mallory', roles: ['reader'] } })),
    );
    h.clock.advance(TOKEN_LIFETIME);
    const session = await h.sessions.resolve(cookie);
    expect(session?.record.refreshToken).toBe('refresh-1');
    expect(session?.record.accessToken).toBe('access-1');
    expect(session?.record.claims.sub).toBe('carol');
  });

  it('a session without a refresh token is never renewed: it lives on its ttl and idle timeout', async () => {
    const h = harness();
    const cookie = await signIn(h, h.provider.tokens({ refreshToken: undefined }));
    expect(h.logs.some((line) => line.msg.startsWith('provider issued no refresh token'))).toBe(true);
    h.clock.advance(TOKEN_LIFETIME + MINUTE);
    expect(h.sessions.resolve(cookie)).toMatchObject({ record: { claims: { sub: 'carol' } } });
    expect(h.provider.calls).toEqual([]);
  });

  it('roles.required: a session whose renewal takes away the last role is denied', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.provider.roles = [];
    h.clock.advance(TOKEN_LIFETIME);
    expect(await h.sessions.resolve(cookie)).toMatchObject({ denied: true, record: { roles: [] } });
  });
});

describe('Sessions: refresh failures', () => {
  it('invalid_grant ends the session', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.provider.answers.push(() => Promise.reject(new ProviderRefusedError('invalid_grant', 'provider refused: invalid_grant')));
    h.clock.advance(REFRESH_INTERVAL);
    const refused = h.nextRefresh();
    expect(h.sessions.resolve(cookie)).toMatchObject({ record: { claims: { sub: 'carol' } } });
    expect(await refused).toBe('invalid_grant');
    expect(await h.sessions.resolve(cookie)).toBeUndefined();
    expect(h.store.size).toBe(0);
  });

  it("invalid_grant after another replica rotated the refresh token: that replica's record wins, the session lives on", async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.provider.answers.push(async () => {
      const current = h.store.peek(keyOf(h, cookie)) as SessionRecord;
      await h.store.set({
        ...current,
        idToken: 'id-other',
        accessToken: current.accessToken,
        refreshToken: 'refresh-other',
        refreshAt: h.clock.now() + REFRESH_INTERVAL,
      });
      throw new ProviderRefusedError('invalid_grant', 'provider refused: invalid_grant');
    });
    h.clock.advance(TOKEN_LIFETIME);
    const session = await h.sessions.resolve(cookie);
    expect(session?.record.refreshToken).toBe('refresh-other');
    expect(h.refreshes).toEqual([]);
  });

  it('provider unavailable while the tokens are valid: the session stays, a warning is logged, the next attempt comes 30 s later', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.provider.answers.push(() => Promise.reject(new ProviderUnavailableError('provider unreachable')));
    h.clock.advance(REFRESH_INTERVAL);
    const failed = h.nextRefresh();
    h.sessions.resolve(cookie);
    expect(await failed).toBe('provider_unavailable');
    const session = (await h.sessions.resolve(cookie)) as ResolvedSession;
    expect(session.record.refreshAt).toBe(h.clock.now() + REFRESH_RETRY_MS);
    expect(session.record.refreshToken).toBe('refresh-1');
    expect(h.logs.find((line) => line.msg === 'session refresh failed; the session stays valid until its tokens expire')).toMatchObject({ level: 'warn' });
    expect(h.provider.calls).toHaveLength(1);
  });

  it("the retry after a failure never comes later than the tokens' expiry", async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.provider.answers.push(() => Promise.reject(new Error('socket hang up')));
    h.clock.advance(TOKEN_LIFETIME - 10_000);
    const failed = h.nextRefresh();
    h.sessions.resolve(cookie);
    expect(await failed).toBe('error');
    expect(((await h.sessions.resolve(cookie)) as ResolvedSession).record.refreshAt).toBe(START + TOKEN_LIFETIME);
  });

  it('provider unavailable after the tokens expired: the session ends', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.provider.answers.push(() => Promise.reject(new ProviderUnavailableError('provider unreachable')));
    h.clock.advance(TOKEN_LIFETIME);
    expect(await h.sessions.resolve(cookie)).toBeUndefined();
    expect(h.store.size).toBe(0);
    expect(h.logs.some((line) => line.msg === 'session refresh failed and its tokens have expired; session ended')).toBe(true);
  });
});

describe('Sessions: absolute expiry and idle timeout', () => {
  it('an active session ends at session.ttl, however recently it was used', async () => {
    const h = harness();
    const cookie = await signIn(h, h.provider.tokens({ refreshToken: undefined }));
    for (let elapsed = 0; elapsed < TTL - IDLE / 2; elapsed += IDLE / 2) {
      h.clock.advance(IDLE / 2);
      expect(h.sessions.resolve(cookie)).toBeDefined();
    }
    h.clock.advance(TTL - (h.clock.now() - START));
    expect(await h.sessions.resolve(cookie)).toBeUndefined();
    expect(h.store.size).toBe(0);
  });

  it('a session unused for idle_timeout ends; a request just before it keeps the session going', async () => {
    const h = harness();
    const cookie = await signIn(h, h.provider.tokens({ refreshToken: undefined }));
    h.clock.advance(IDLE - 1);
    expect(h.sessions.resolve(cookie)).toBeDefined();
    h.clock.advance(IDLE - 1);
    expect(h.sessions.resolve(cookie)).toBeDefined();
    h.clock.advance(IDLE);
    expect(await h.sessions.resolve(cookie)).toBeUndefined();
  });

  it('a cookie whose session was ended (logout, a new sign-in) resolves to nothing', async () => {
    const h = harness();
    const cookie = await signIn(h);
    await h.sessions.endCookie(cookie);
    expect(await h.sessions.resolve(cookie)).toBeUndefined();
    expect(h.store.size).toBe(0);
  });
});

describe('Sessions: one renewal at a time', () => {
  it('concurrent requests when the tokens expired make one refresh call and all get its tokens', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.clock.advance(TOKEN_LIFETIME);
    const sessions = await Promise.all(Array.from({ length: 5 }, () => h.sessions.resolve(cookie)));
    expect(h.provider.calls).toEqual(['refresh-1']);
    expect(sessions.map((session) => header(session, 'x-forwarded-access-token'))).toEqual(Array(5).fill('access-2'));
  });

  it("two replicas: the one that finds the lock held does not refresh; after its wait it reads the winner's record", async () => {
    const clock = new Clock();
    const shared = new Set<string>();
    const provider = new TokenEndpoint(clock);
    // one store for both replicas stands for the shared Redis (each replica's cache is not what this test is about)
    const store = new ReplicaStore(shared, { maxSessions: 100, idleTimeoutMs: IDLE, now: clock.now, sweepIntervalMs: 0 });
    let releaseWinner = (): void => undefined;
    const winnerHolds = new Promise<void>((resolve) => (releaseWinner = resolve));
    provider.answers.push(async () => {
      await winnerHolds;
      return provider.tokens();
    });
    const a = harness({ clock, store, provider });
    const waited: number[] = [];
    let winnerDone: Promise<unknown> = Promise.resolve();
    const b = harness({
      clock,
      store,
      provider,
      sessions: {
        wait: async (ms) => {
          waited.push(ms);
          releaseWinner();
          await winnerDone;
        },
      },
    });
    const cookie = await signIn(a);
    clock.advance(TOKEN_LIFETIME);
    winnerDone = Promise.resolve(a.sessions.resolve(cookie));
    const loser = await b.sessions.resolve(cookie);
    const winner = await winnerDone;
    expect(waited).toEqual([LOCK_HELD_WAIT_MS]);
    expect(provider.calls).toEqual(['refresh-1']);
    expect(header(loser, 'x-forwarded-access-token')).toBe('access-2');
    expect((winner as ResolvedSession).record.refreshToken).toBe('refresh-2');
    expect(a.refreshes).toEqual(['ok']);
    expect(b.refreshes).toEqual([]);
  });

  it('a replica that gets the lock after another renewed does not renew again', async () => {
    const h = harness();
    const cookie = await signIn(h);
    h.clock.advance(TOKEN_LIFETIME);
    const stale = h.store.peek(keyOf(h, cookie)) as SessionRecord;
    await h.sessions.resolve(cookie);
    // the stale copy another replica still holds in its cache
    const fresh = await h.sessions.refresh(stale);
    expect(fresh?.refreshToken).toBe('refresh-2');
    expect(h.provider.calls).toEqual(['refresh-1']);
  });
});

function keyOf(h: Harness, cookie: string): string {
  const verdict = h.sessions.cookie.verify(cookie);
  if (!verdict || !('key' in verdict)) throw new Error('cookie does not verify');
  return verdict.key;
}
