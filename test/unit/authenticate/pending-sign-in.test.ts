// PendingSignIns: sealed per-attempt cookies, one-time take, expiry on an injected clock, and the cap.
import { describe, expect, it } from 'vitest';
import { PendingSignIns, type PendingSignIn } from '../../../src/authenticate/pending-sign-in.js';
import { Sealer } from '../../../src/session/sealer.js';

const SECRET = 'unit-test-secret-0123456789-abcdefghijklmnop';
const TTL_MS = 600_000;

function setup(options: { secure?: boolean; now?: () => number } = {}): { pending: PendingSignIns; sealer: Sealer } {
  const sealer = new Sealer([SECRET]);
  const pending = new PendingSignIns(sealer, { path: '/.auth/', secure: options.secure ?? false, ttlMs: TTL_MS, maxPending: 3, now: options.now });
  return { pending, sealer };
}

/** The browser side: applies Set-Cookie lines to a name → value map. */
function apply(jar: Record<string, string>, setCookies: readonly string[]): Record<string, string> {
  for (const line of setCookies) {
    const pair = line.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (/Max-Age=0(;|$)/.test(line)) delete jar[name];
    else jar[name] = value;
  }
  return jar;
}

describe('PendingSignIns', () => {
  it('seals state, nonce, verifier and return path into one path-scoped, 10-minute, HttpOnly cookie', () => {
    const { pending, sealer } = setup({ now: () => 1_000_000 });
    const { pending: attempt, setCookies } = pending.begin('/reports?x=1', false, {});
    expect(setCookies).toHaveLength(1);
    const line = setCookies[0] as string;
    const name = `gatehouse_signin_${attempt.state.slice(0, 12)}`;
    expect(line).toMatch(new RegExp(`^${name}=v1\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]+; Max-Age=600; Path=/\\.auth/; HttpOnly; SameSite=Lax$`));
    for (const secret of [attempt.state, attempt.nonce, attempt.verifier, 'reports']) expect(line).not.toContain(secret);
    const value = line.slice(name.length + 1, line.indexOf(';'));
    expect(sealer.unseal<PendingSignIn>(value, 'pending-sign-in')).toEqual({ ...attempt, returnTo: '/reports?x=1', createdAt: 1_000_000, silent: false });
    expect(sealer.unseal(value, 'session')).toBeUndefined();
  });

  it('on https: a __Host- cookie (Path=/, Secure, no Domain) that a sibling subdomain cannot plant', () => {
    const { pending } = setup({ secure: true });
    const jar = apply({}, pending.begin('/', false, {}).setCookies);
    const attempt = pending.begin('/b', false, jar);
    expect(attempt.setCookies).toHaveLength(1);
    expect(attempt.setCookies[0]).toMatch(/^__Host-gatehouse_signin_[A-Za-z0-9_-]{12}=v1\.[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(pending.isPendingCookie('__Host-gatehouse_signin_abc')).toBe(true);
    for (const plantable of ['__Secure-gatehouse_signin_abc', 'gatehouse_signin_abc']) expect(pending.isPendingCookie(plantable)).toBe(false);
    apply(jar, attempt.setCookies);
    const name = `__Host-gatehouse_signin_${attempt.pending.state.slice(0, 12)}`;
    const value = jar[name] as string;
    // the genuine sealed value under a name a sibling subdomain can set (Domain=<parent>) is not found
    for (const planted of [`__Secure-gatehouse_signin_${attempt.pending.state.slice(0, 12)}`, `gatehouse_signin_${attempt.pending.state.slice(0, 12)}`]) {
      expect(pending.take(attempt.pending.state, { [planted]: value })).toEqual({});
    }
    const taken = pending.take(attempt.pending.state, jar);
    expect(taken.pending).toEqual(attempt.pending);
    expect(taken.clearCookie).toBe(`${name}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax`);
  });

  it('takes an attempt once: found with its state, and the cookie is cleared', () => {
    const { pending } = setup();
    const jar = apply({}, pending.begin('/a', true, {}).setCookies);
    const name = Object.keys(jar)[0] as string;
    const attempt = pending.begin('/b', false, jar);
    apply(jar, attempt.setCookies);
    const taken = pending.take(attempt.pending.state, jar);
    expect(taken.pending).toEqual(attempt.pending);
    const cleared = `gatehouse_signin_${attempt.pending.state.slice(0, 12)}=; Max-Age=0; Path=/.auth/; HttpOnly; SameSite=Lax`;
    expect(taken.clearCookie).toBe(cleared);
    apply(jar, [cleared]);
    expect(Object.keys(jar)).toEqual([name]);
    expect(pending.take(attempt.pending.state, jar)).toEqual({});
  });

  it('refuses a state whose prefix matches but whose rest differs, and clears that cookie', () => {
    const { pending } = setup();
    const { pending: attempt, setCookies } = pending.begin('/', false, {});
    const jar = apply({}, setCookies);
    const last = attempt.state.at(-1) === 'A' ? 'B' : 'A';
    const forged = `${attempt.state.slice(0, -1)}${last}`;
    const taken = pending.take(forged, jar);
    expect(taken.pending).toBeUndefined();
    expect(taken.clearCookie).toMatch(/Max-Age=0/);
  });

  it('refuses missing, short, oversized states and tampered cookie values', () => {
    const { pending } = setup();
    const { pending: attempt, setCookies } = pending.begin('/', false, {});
    const jar = apply({}, setCookies);
    expect(pending.take(null, jar)).toEqual({});
    expect(pending.take('short', jar)).toEqual({});
    expect(pending.take(attempt.state + 'x'.repeat(8192), jar)).toEqual({});
    const name = Object.keys(jar)[0] as string;
    const value = jar[name] as string;
    const tampered = { [name]: `${value.slice(0, -2)}${value.at(-2) === 'A' ? 'B' : 'A'}${value.at(-1)}` };
    const taken = pending.take(attempt.state, tampered);
    expect(taken.pending).toBeUndefined();
    expect(taken.clearCookie).toMatch(/Max-Age=0/);
  });

  it('an attempt older than 10 minutes is expired', () => {
    let now = 5_000_000;
    const { pending } = setup({ now: () => now });
    const { pending: attempt, setCookies } = pending.begin('/', false, {});
    const jar = apply({}, setCookies);
    now += TTL_MS;
    expect(pending.take(attempt.state, { ...jar }).pending?.state).toBe(attempt.state);
    now += 1;
    const taken = pending.take(attempt.state, jar);
    expect(taken.pending).toBeUndefined();
    expect(taken.clearCookie).toMatch(/Max-Age=0/);
  });

  it('keeps at most 3 attempts: the 4th clears the oldest', () => {
    let now = 10_000_000;
    const { pending } = setup({ now: () => now });
    const jar: Record<string, string> = {};
    const states: string[] = [];
    for (let i = 0; i < 4; i++) {
      now += 1000;
      const { pending: attempt, setCookies } = pending.begin(`/tab${i}`, false, jar);
      states.push(attempt.state);
      expect(setCookies).toHaveLength(i < 3 ? 1 : 2);
      apply(jar, setCookies);
    }
    expect(Object.keys(jar).sort()).toEqual(
      states
        .slice(1)
        .map((state) => `gatehouse_signin_${state.slice(0, 12)}`)
        .sort(),
    );
    expect(pending.take(states[0] as string, jar)).toEqual({});
    for (const state of states.slice(1)) expect(pending.take(state, jar).pending?.state).toBe(state);
  });

  it('50 forged pending cookies make it emit a handful of Set-Cookie lines, not 50', () => {
    const { pending } = setup();
    const forged: Record<string, string> = {};
    for (let i = 0; i < 50; i++) forged[`gatehouse_signin_forged${String(i).padStart(5, '0')}`] = `v1.${'A'.repeat(16)}.garbage${i}`;
    const { setCookies } = pending.begin('/', false, forged);
    expect(setCookies).toHaveLength(7);
    expect(setCookies.slice(0, 6).every((line) => /^gatehouse_signin_forged\d{5}=; Max-Age=0; Path=\/\.auth\/;/.test(line))).toBe(true);
    expect(setCookies[6]).toMatch(/Max-Age=600/);
  });
});
