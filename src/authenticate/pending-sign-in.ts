// The pending sign-in (state, nonce, PKCE verifier, return path) in a sealed, short-lived cookie per attempt:
// unauthenticated traffic costs no server memory, several tabs can sign in at once, and the count is capped.
import { timingSafeEqual } from 'node:crypto';
import { serialize } from 'cookie';
import * as oidc from 'openid-client';
import type { Sealer } from '../session/sealer.js';

export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  createdAt: number;
  /** Started with prompt=none: a login/consent/interaction_required answer falls back to the interactive flow. */
  silent: boolean;
}

export interface PendingSignInOptions {
  /**
   * Cookie path on plain http: the internal route prefix, so the cookie does not travel with app requests. On https
   * the path is always `/`, which the `__Host-` prefix requires (gatehouse strips the cookie before forwarding).
   */
  path: string;
  /**
   * public_url is https: the cookie is `__Host-` (Secure, Path=/, no Domain), so a sibling subdomain cannot plant a
   * pending sign-in of its own (an attacker's genuine one, which would sign the victim in as the attacker).
   */
  secure: boolean;
  ttlMs: number;
  /** Most attempts kept at once; the oldest beyond it are cleared. */
  maxPending: number;
  now?: () => number;
}

const PURPOSE = 'pending-sign-in';
const STATE_PREFIX_LENGTH = 12;
/**
 * A cookie header can carry many forged pending cookies: look at no more than this many beyond the cap per
 * request, so one request never makes gatehouse emit more than a handful of Set-Cookie lines.
 */
const INSPECTED_BEYOND_CAP = 3;

export class PendingSignIns {
  private readonly baseName: string;
  private readonly path: string;
  private readonly now: () => number;

  constructor(
    private readonly sealer: Sealer,
    private readonly options: PendingSignInOptions,
  ) {
    this.baseName = `${options.secure ? '__Host-' : ''}gatehouse_signin_`;
    this.path = options.secure ? '/' : options.path;
    this.now = options.now ?? Date.now;
  }

  isPendingCookie(name: string): boolean {
    return name.startsWith(this.baseName);
  }

  /** Creates a new attempt; returns it with the Set-Cookie values (the new cookie, and clearings of the oldest beyond the cap). */
  begin(returnTo: string, silent: boolean, cookies: Readonly<Record<string, string | undefined>>): { pending: PendingSignIn; setCookies: string[] } {
    const pending: PendingSignIn = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      returnTo,
      createdAt: this.now(),
      silent,
    };
    const setCookies = this.evictions(cookies);
    setCookies.push(this.cookie(this.nameFor(pending.state), this.sealer.seal(pending, PURPOSE), Math.floor(this.options.ttlMs / 1000)));
    return { pending, setCookies };
  }

  /** Finds and consumes the attempt for `state`; the cookie is always cleared so a callback cannot be replayed. */
  take(state: string | null, cookies: Readonly<Record<string, string | undefined>>): { pending?: PendingSignIn; clearCookie?: string } {
    if (!state || state.length < STATE_PREFIX_LENGTH || state.length > 512) return {};
    const name = this.nameFor(state);
    const value = cookies[name];
    if (value === undefined) return {};
    const clearCookie = this.cookie(name, '', 0);
    const pending = this.sealer.unseal<PendingSignIn>(value, PURPOSE);
    if (!pending || typeof pending.state !== 'string' || !sameString(pending.state, state)) return { clearCookie };
    if (this.now() - pending.createdAt > this.options.ttlMs) return { clearCookie };
    return { pending, clearCookie };
  }

  private evictions(cookies: Readonly<Record<string, string | undefined>>): string[] {
    const attempts: Array<{ name: string; createdAt: number }> = [];
    const clear: string[] = [];
    for (const name of Object.keys(cookies)) {
      if (!this.isPendingCookie(name)) continue;
      if (attempts.length + clear.length >= this.options.maxPending + INSPECTED_BEYOND_CAP) break;
      const pending = this.sealer.unseal<PendingSignIn>(cookies[name] ?? '', PURPOSE);
      if (!pending || this.now() - pending.createdAt > this.options.ttlMs) clear.push(name);
      else attempts.push({ name, createdAt: pending.createdAt });
    }
    attempts.sort((a, b) => a.createdAt - b.createdAt);
    const excess = attempts.length - (this.options.maxPending - 1);
    for (let i = 0; i < excess; i++) clear.push((attempts[i] as { name: string }).name);
    return clear.map((name) => this.cookie(name, '', 0));
  }

  private nameFor(state: string): string {
    return `${this.baseName}${state.slice(0, STATE_PREFIX_LENGTH).replace(/[^A-Za-z0-9_-]/g, '_')}`;
  }

  private cookie(name: string, value: string, maxAgeSeconds: number): string {
    return serialize(name, value, { maxAge: maxAgeSeconds, path: this.path, httpOnly: true, secure: this.options.secure, sameSite: 'lax' });
  }
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
