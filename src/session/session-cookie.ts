// The session cookie: a random 256-bit id plus its HMAC; verifying it yields the store key (the MAC), never the id.
import { type KeyObject, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { serialize, type SerializeOptions } from 'cookie';
import { LRUCache } from 'lru-cache';

export type CookieRejection = 'malformed' | 'oversized' | 'bad-mac';

export interface SessionCookieOptions {
  /** Newest first: the first one signs, every one verifies (rotation). */
  secrets: readonly string[];
  /** config session.cookie_name; `__Host-` is prepended when secure. */
  name: string;
  /** public_url is https. */
  secure: boolean;
  maxAgeMs: number;
  /** How many verified cookie values to remember (the session count is a good value); default 10000. */
  rememberVerified?: number;
}

/** base64url length of 32 bytes, without padding. */
const PART_CHARS = 43;
const VALUE_CHARS = PART_CHARS * 2 + 1;
const MAC_BYTES = 32;
const MAC_DOMAIN = 'session:';
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Char code → 1 for any base64url character. */
const IS_BASE64URL = new Uint8Array(128);
/** Char code → 1 for characters that may end the encoding of 32 bytes (the last 2 bits are padding and must be 0). */
const IS_CANONICAL_LAST = new Uint8Array(128);
for (let i = 0; i < BASE64URL.length; i++) {
  IS_BASE64URL[BASE64URL.charCodeAt(i)] = 1;
  if (i % 4 === 0) IS_CANONICAL_LAST[BASE64URL.charCodeAt(i)] = 1;
}

export class SessionCookie {
  readonly name: string;
  private readonly keys: readonly KeyObject[];
  private readonly attributes: SerializeOptions;
  private readonly clearAttributes: SerializeOptions;
  /**
   * Cookie values whose MAC already verified under the current secrets, so a session's later requests cost one
   * map lookup instead of an HMAC. Only genuine cookies get in (a forged one never verifies), the count is
   * bounded, and a reload with other secrets builds a new SessionCookie, so a removed secret stops verifying.
   */
  private readonly verified: LRUCache<string, { key: string }>;
  /** Decoded MAC of the cookie being verified; verify is synchronous, so one buffer serves every call. */
  private readonly presentedMac = Buffer.alloc(MAC_BYTES);

  constructor(options: SessionCookieOptions) {
    if (options.secrets.length === 0) throw new RangeError('SessionCookie needs at least one secret');
    if (!COOKIE_NAME.test(options.name)) throw new RangeError(`invalid cookie name: ${JSON.stringify(options.name)}`);
    this.name = options.secure ? `__Host-${options.name}` : options.name;
    this.verified = new LRUCache({ max: options.rememberVerified ?? 10_000 });
    this.keys = options.secrets.map((secret) => createSecretKey(Buffer.from(secret, 'utf8')));
    this.attributes = { maxAge: Math.floor(options.maxAgeMs / 1000), path: '/', httpOnly: true, secure: options.secure, sameSite: 'lax' };
    this.clearAttributes = { ...this.attributes, maxAge: 0 };
  }

  /** A new random session id with its MAC under the newest secret; call it at every sign-in. */
  issue(): { value: string; key: string } {
    const id = randomBytes(32).toString('base64url');
    const key = this.mac(this.keys[0] as KeyObject, id).toString('base64url');
    return { value: `${id}.${key}`, key };
  }

  /**
   * undefined: no cookie. Otherwise the store key, or why the cookie is refused. Shape is checked before any HMAC;
   * the MAC is compared in constant time. Never throws.
   */
  verify(value: string | undefined): { key: string } | { rejected: CookieRejection } | undefined {
    if (value === undefined) return undefined;
    if (value.length > VALUE_CHARS) return { rejected: 'oversized' };
    if (value.length !== VALUE_CHARS) return { rejected: 'malformed' };
    const remembered = this.verified.get(value);
    if (remembered) return remembered;
    if (value.charCodeAt(PART_CHARS) !== 0x2e || !wellFormed(value)) return { rejected: 'malformed' };
    const id = value.slice(0, PART_CHARS);
    const key = value.slice(PART_CHARS + 1);
    this.presentedMac.write(key, 0, 'base64url');
    for (const secret of this.keys) {
      if (timingSafeEqual(this.mac(secret, id), this.presentedMac)) {
        const remembered = ownCopy(value);
        const verdict = { key: remembered.slice(PART_CHARS + 1) };
        this.verified.set(remembered, verdict);
        return verdict;
      }
    }
    return { rejected: 'bad-mac' };
  }

  /** Drops a cookie value from the verified ones (its session ended): nothing keeps it in memory. */
  forget(value: string): void {
    this.verified.delete(value);
  }

  /** Full Set-Cookie header value carrying `value`. */
  setCookie(value: string): string {
    return serialize(this.name, value, this.attributes);
  }

  /** Set-Cookie header value that removes the cookie. */
  clearCookie(): string {
    return serialize(this.name, '', this.clearAttributes);
  }

  private mac(secret: KeyObject, id: string): Buffer {
    return createHmac('sha256', secret).update(MAC_DOMAIN).update(id).digest();
  }
}

/** Both parts canonical base64url of 32 bytes (so one MAC has exactly one spelling); the separator was checked. */
function wellFormed(value: string): boolean {
  for (let i = 0; i < VALUE_CHARS; i++) {
    if (i === PART_CHARS) continue;
    const code = value.charCodeAt(i);
    if (code >= 128 || IS_BASE64URL[code] === 0) return false;
  }
  return IS_CANONICAL_LAST[value.charCodeAt(PART_CHARS - 1)] === 1 && IS_CANONICAL_LAST[value.charCodeAt(VALUE_CHARS - 1)] === 1;
}

/**
 * `text` in memory of its own. A cookie value parsed from the Cookie header is a slice of the header string, and a
 * slice kept keeps the whole header alive: every other cookie the browser sends with it, kilobytes per hot session.
 * The value is ASCII once verified, so latin1 copies it exactly.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}
