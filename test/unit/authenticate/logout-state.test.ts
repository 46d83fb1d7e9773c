// The logout state (issue 15 item 3): one random state per logout, sealed in a cookie scoped to the signed-out route,
// checked once on the way back; expiry driven by an injected clock.
import { describe, expect, it } from 'vitest';
import { LogoutStates } from '../../../src/authenticate/logout-state.js';
import { Sealer } from '../../../src/session/sealer.js';

const SECRET = 'logout-state-unit-secret-0123456789abcdef';
const TTL_MS = 600_000;

function states(options: { secure?: boolean; now?: () => number; secret?: string } = {}): LogoutStates {
  return new LogoutStates(new Sealer([options.secret ?? SECRET]), {
    path: '/.auth/signed-out',
    secure: options.secure ?? false,
    ttlMs: TTL_MS,
    now: options.now,
  });
}

/** The cookie jar a browser would hold after `setCookie`. */
function jar(name: string, setCookie: string): Record<string, string> {
  return { [name]: setCookie.slice(name.length + 1, setCookie.indexOf(';')) };
}

describe('LogoutStates', () => {
  it('a new random state per logout, in a cookie only /.auth/signed-out receives; http and https forms', () => {
    const plain = states();
    const [first, second] = [plain.begin(), plain.begin()];
    expect(first.state).toMatch(/^[\w-]{32}$/);
    expect(second.state).not.toBe(first.state);
    expect(first.setCookie).toMatch(/^gatehouse_signout=v1\.[\w-]+\.[\w-]+; Max-Age=600; Path=\/\.auth\/signed-out; HttpOnly; SameSite=Lax$/);
    expect(first.setCookie).not.toContain(first.state);
    expect(states({ secure: true }).begin().setCookie).toMatch(
      /^__Secure-gatehouse_signout=v1\.[\w-]+\.[\w-]+; Max-Age=600; Path=\/\.auth\/signed-out; HttpOnly; Secure; SameSite=Lax$/,
    );
  });

  it('the matching state passes and the cookie is cleared; every other arrival says why', () => {
    let now = 1_000_000;
    const checker = states({ now: () => now });
    const { state, setCookie } = checker.begin();
    const cookies = jar(checker.cookieName, setCookie);
    const cleared = 'gatehouse_signout=; Max-Age=0; Path=/.auth/signed-out; HttpOnly; SameSite=Lax';
    expect(checker.check(state, cookies)).toEqual({ outcome: 'matched', clearCookie: cleared });
    // another last character (a random state ends in x one time in 64)
    const altered = `${state.slice(0, -1)}${state.endsWith('x') ? 'y' : 'x'}`;
    expect(checker.check(altered, cookies)).toEqual({ outcome: 'state_mismatch', clearCookie: cleared });
    expect(checker.check('', cookies)).toEqual({ outcome: 'state_mismatch', clearCookie: cleared });
    expect(checker.check('x'.repeat(10_000), cookies)).toEqual({ outcome: 'state_mismatch', clearCookie: cleared });
    expect(checker.check(null, cookies)).toEqual({ outcome: 'state_missing', clearCookie: cleared });
    expect(checker.check(state, {})).toEqual({ outcome: 'cookie_missing' });
    expect(checker.check(null, {})).toEqual({ outcome: 'plain_visit' });
    expect(checker.check(state, { gatehouse_signout: 'v1.forged.value' })).toEqual({ outcome: 'cookie_invalid', clearCookie: cleared });
    // sealed under another secret (another deployment): not ours
    const foreign = states({ secret: 'another-secret-0123456789abcdefghijklmnop' }).begin();
    expect(checker.check(foreign.state, jar('gatehouse_signout', foreign.setCookie))).toEqual({ outcome: 'cookie_invalid', clearCookie: cleared });
    now += TTL_MS;
    expect(checker.check(state, cookies).outcome).toBe('matched');
    now += 1;
    expect(checker.check(state, cookies)).toEqual({ outcome: 'expired', clearCookie: cleared });
  });
});
