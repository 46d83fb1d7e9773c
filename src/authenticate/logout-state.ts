// The `state` of an RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2): a random value sent to the
// provider's end_session_endpoint and kept, sealed, in a short-lived cookie that only /.auth/signed-out receives, so
// the landing page can tell whether the browser arriving there is the one gatehouse sent to the provider.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { serialize } from 'cookie';
import type { Sealer } from '../session/sealer.js';

/**
 * What /.auth/signed-out found: `matched` (the browser is back from the logout it started), `plain_visit` (neither a
 * state nor the cookie: someone opened the page), or why the state does not vouch for the arrival.
 */
export type LogoutStateCheck = 'matched' | 'plain_visit' | 'state_missing' | 'state_mismatch' | 'cookie_missing' | 'cookie_invalid' | 'expired';

export interface LogoutStateOptions {
  /** The signed-out route's path: the cookie travels with no other request (never to the app). */
  path: string;
  /** public_url is https: the cookie is `__Secure-` and Secure. */
  secure: boolean;
  ttlMs: number;
  now?: () => number;
}

interface SealedLogoutState {
  state: string;
  createdAt: number;
}

const PURPOSE = 'logout-state';
const MAX_STATE_LENGTH = 512;

export class LogoutStates {
  readonly cookieName: string;
  private readonly now: () => number;

  constructor(
    private readonly sealer: Sealer,
    private readonly options: LogoutStateOptions,
  ) {
    this.cookieName = `${options.secure ? '__Secure-' : ''}gatehouse_signout`;
    this.now = options.now ?? Date.now;
  }

  /** A new state and the Set-Cookie that keeps it for the way back. */
  begin(): { state: string; setCookie: string } {
    const state = randomBytes(24).toString('base64url');
    const sealed: SealedLogoutState = { state, createdAt: this.now() };
    return { state, setCookie: this.cookie(this.sealer.seal(sealed, PURPOSE), Math.floor(this.options.ttlMs / 1000)) };
  }

  /** Compares the returned `state` with the cookie; the cookie, when sent, is always cleared (one use). */
  check(state: string | null, cookies: Readonly<Record<string, string | undefined>>): { outcome: LogoutStateCheck; clearCookie?: string } {
    const value = cookies[this.cookieName];
    if (value === undefined) return { outcome: state === null ? 'plain_visit' : 'cookie_missing' };
    const clearCookie = this.cookie('', 0);
    const sealed = this.sealer.unseal<SealedLogoutState>(value, PURPOSE);
    if (!sealed || typeof sealed.state !== 'string' || typeof sealed.createdAt !== 'number') return { outcome: 'cookie_invalid', clearCookie };
    if (this.now() - sealed.createdAt > this.options.ttlMs) return { outcome: 'expired', clearCookie };
    if (state === null) return { outcome: 'state_missing', clearCookie };
    if (state.length > MAX_STATE_LENGTH || !sameString(state, sealed.state)) return { outcome: 'state_mismatch', clearCookie };
    return { outcome: 'matched', clearCookie };
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    return serialize(this.cookieName, value, { maxAge: maxAgeSeconds, path: this.options.path, httpOnly: true, secure: this.options.secure, sameSite: 'lax' });
  }
}

function sameString(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
