// The signed identity assertion (ES256 JWT for the app): its keys, and one token per session reused until
// it nears expiry, so nothing is signed per request.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import { ConfigError } from '../errors.js';
import type { IdentityClaims } from '../session/types.js';

export interface AssertionKeys {
  /** The newest key: every assertion is signed with it. */
  current: { kid: string; key: CryptoKey };
  /** Public part of every configured key (kid, alg ES256, use sig), newest first: what /.auth/jwks.json serves. */
  publicJwks: { keys: JWK[] };
  /** No key was configured and one was generated for this process (development only: replicas disagree, restarts rotate). */
  generated: boolean;
}

/** What an assertion says about a session. `key` is the store key and only indexes the cache; it is never signed. */
export interface AssertionSubject {
  key: string;
  claims: IdentityClaims;
  roles: readonly string[];
  /** The provider's session id, when it sent one. */
  sid?: string | undefined;
  /** How the user authenticated: a browser session (default) or an API client's bearer token. Signed as `auth`. */
  auth?: 'session' | 'bearer';
}

export interface AssertionSignerOptions {
  keys: AssertionKeys;
  /** `iss`: the public URL. */
  issuer: string;
  /** `aud`: identity.assertion.audience, or the upstream origin. */
  audience: string;
  ttlMs: number;
  /** Most sessions whose token is kept (least recently used dropped first); default 100000. */
  maxEntries?: number;
  now?: () => number;
  /** A background re-sign failed (the next request retries). */
  onError?: (error: unknown) => void;
}

/** A configured key that cannot sign ES256; its one problem is the config error line. */
export class AssertionKeyError extends ConfigError {
  constructor(
    readonly index: number,
    reason: string,
  ) {
    super([`identity.assertion.keys.${index}: ${reason}`]);
  }
}

const ALG = 'ES256';

/** Keys from config (PKCS8/SEC1 PEM or JWK JSON, newest first); none configured: one generated ES256 key. */
export async function loadAssertionKeys(configured: readonly string[]): Promise<AssertionKeys> {
  if (configured.length === 0) {
    // Out of the generation as PEM, into key objects of their own: exporting a generated key object as a JWK can
    // deadlock Node 20 (a GC during the export runs the key-generation job's destructor, which waits for the mutex
    // the export holds; seen with the dev provider's RSA key).
    const pem = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const { kty, crv, x, y } = createPublicKey(pem.publicKey).export({ format: 'jwk' });
    const publicJwk: JWK = { kty, crv, x, y };
    const kid = await calculateJwkThumbprint(publicJwk);
    return { current: { kid, key: await importPKCS8(pem.privateKey, ALG) }, publicJwks: { keys: [publishedJwk(publicJwk, kid)] }, generated: true };
  }
  const loaded: Array<{ kid: string; key: CryptoKey; publicJwk: JWK }> = [];
  for (const [index, text] of configured.entries()) loaded.push(await loadConfiguredKey(index, text));
  const seen = new Set<string>();
  const keys: JWK[] = [];
  for (const { kid, publicJwk } of loaded) {
    if (seen.has(kid)) continue;
    seen.add(kid);
    keys.push(publishedJwk(publicJwk, kid));
  }
  const newest = loaded[0] as (typeof loaded)[number];
  return { current: { kid: newest.kid, key: newest.key }, publicJwks: { keys }, generated: false };
}

interface SignedAssertion {
  token: string;
  /** From here on a fresh token is signed in the background. */
  renewAt: number;
  /** After this the token is not handed out any more (less than a quarter of its life left). */
  usableUntil: number;
  identity: AssertionSubject;
}

interface PendingSignature {
  identity: AssertionSubject;
  promise: Promise<string>;
}

/**
 * Signs one assertion per session and hands the same token to every request until less than half its
 * life is left; then a new one is signed in the background while the current one is still handed out, as
 * long as at least a quarter of its life is left. A change of claims, roles or sid makes the old token
 * unusable at once.
 */
export class AssertionSigner {
  readonly #keys: AssertionKeys;
  readonly #issuer: string;
  readonly #audience: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #tokens: LRUCache<string, SignedAssertion>;
  readonly #pending = new Map<string, PendingSignature>();
  #signatures = 0;

  constructor(options: AssertionSignerOptions) {
    if (!(options.ttlMs >= 2000)) throw new RangeError(`assertion ttl must be at least 2s, got ${options.ttlMs} ms`);
    this.#keys = options.keys;
    this.#issuer = options.issuer;
    this.#audience = options.audience;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError;
    this.#tokens = new LRUCache({ max: options.maxEntries ?? 100_000 });
  }

  /** How many assertions this signer has signed (for tests and metrics). */
  get signatures(): number {
    return this.#signatures;
  }

  /**
   * The assertion for a session, or undefined when none is usable yet (first request, identity changed,
   * token too old): then a signature is already under way and `prepare` returns it.
   */
  current(session: AssertionSubject): string | undefined {
    const now = this.#now();
    const signed = this.#tokens.get(session.key);
    if (signed === undefined || now >= signed.usableUntil || !sameIdentity(signed, session)) {
      this.#ensureSigning(session).catch(this.#reportError);
      return undefined;
    }
    if (now >= signed.renewAt) this.#ensureSigning(session).catch(this.#reportError);
    return signed.token;
  }

  /** A fresh assertion for the session as it is now (sign-in, roles changed); shares a signature already under way for the same identity. */
  prepare(session: AssertionSubject): Promise<string> {
    return this.#ensureSigning(session);
  }

  /** Drops the session's token (logout); a signature still under way is not kept. */
  forget(sessionKey: string): void {
    this.#tokens.delete(sessionKey);
    this.#pending.delete(sessionKey);
  }

  #ensureSigning(session: AssertionSubject): Promise<string> {
    const pending = this.#pending.get(session.key);
    if (pending !== undefined && sameIdentity(pending, session)) return pending.promise;
    const identity = snapshot(session);
    const ticket: PendingSignature = {
      identity,
      promise: this.#sign(identity).then((signed) => {
        this.#settle(ticket, signed);
        return signed.token;
      }),
    };
    ticket.promise.catch(() => this.#settle(ticket, undefined));
    this.#pending.set(identity.key, ticket);
    return ticket.promise;
  }

  /** Keeps the signed token unless the signature was superseded or the session forgotten meanwhile. */
  #settle(ticket: PendingSignature, signed: SignedAssertion | undefined): void {
    const key = ticket.identity.key;
    if (this.#pending.get(key) === ticket) {
      this.#pending.delete(key);
      if (signed !== undefined) this.#tokens.set(key, signed);
    }
  }

  async #sign(identity: AssertionSubject): Promise<SignedAssertion> {
    const now = this.#now();
    const { claims, roles, sid } = identity;
    const payload: Record<string, unknown> = { sub: claims.sub, roles: [...roles] };
    if (claims.email !== undefined) payload['email'] = claims.email;
    if (claims.name !== undefined) payload['name'] = claims.name;
    if (claims.preferred_username !== undefined) payload['preferred_username'] = claims.preferred_username;
    if (sid !== undefined) payload['sid'] = sid;
    payload['auth'] = identity.auth ?? 'session';
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: ALG, kid: this.#keys.current.kid, typ: 'JWT' })
      .setIssuer(this.#issuer)
      .setAudience(this.#audience)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor((now + this.#ttlMs) / 1000))
      .sign(this.#keys.current.key);
    this.#signatures++;
    return { token, renewAt: now + this.#ttlMs / 2, usableUntil: now + (this.#ttlMs * 3) / 4, identity };
  }

  readonly #reportError = (error: unknown): void => {
    this.#onError?.(error);
  };
}

async function loadConfiguredKey(index: number, text: string): Promise<{ kid: string; key: CryptoKey; publicJwk: JWK }> {
  const keyObject = parsePrivateKey(index, text.trim());
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const kind =
      keyObject.asymmetricKeyType === 'ec'
        ? `an EC ${keyObject.asymmetricKeyDetails?.namedCurve ?? 'unknown-curve'} key`
        : `an ${keyObject.asymmetricKeyType ?? 'unknown'} key`;
    throw new AssertionKeyError(index, `is ${kind}; ES256 needs an EC P-256 private key`);
  }
  const { kty, crv, x, y, d } = keyObject.export({ format: 'jwk' });
  const publicJwk: JWK = { kty, crv, x, y };
  const key = await importJWK({ ...publicJwk, d }, ALG);
  if (key instanceof Uint8Array) throw new AssertionKeyError(index, 'is not an asymmetric key');
  return { kid: await calculateJwkThumbprint(publicJwk), key, publicJwk };
}

function parsePrivateKey(index: number, text: string): KeyObject {
  if (text.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch {
      throw new AssertionKeyError(index, 'starts with "{" but is not valid JSON (expected a JWK)');
    }
    if (typeof jwk !== 'object' || jwk === null || !('d' in jwk)) throw new AssertionKeyError(index, 'is a JWK without "d": a private key is needed');
    try {
      return createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      throw new AssertionKeyError(index, 'is not a usable private JWK');
    }
  }
  if (!text.includes('-----BEGIN')) throw new AssertionKeyError(index, 'is neither a PEM private key nor a JWK JSON object');
  if (/-----BEGIN (?:PUBLIC KEY|CERTIFICATE)/.test(text)) throw new AssertionKeyError(index, 'is a public key or certificate: a private key is needed');
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw new AssertionKeyError(index, 'is not a readable unencrypted PEM private key (PKCS8 or SEC1)');
  }
}

function publishedJwk(publicJwk: JWK, kid: string): JWK {
  return { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y, kid, alg: ALG, use: 'sig' };
}

function snapshot(session: AssertionSubject): AssertionSubject {
  const identity: AssertionSubject = { key: session.key, claims: session.claims, roles: session.roles };
  if (session.sid !== undefined) identity.sid = session.sid;
  if (session.auth !== undefined) identity.auth = session.auth;
  return identity;
}

/** Same claims, roles and sid; by reference first (the usual case), by value when the session object was replaced. */
function sameIdentity(held: { identity: AssertionSubject }, session: AssertionSubject): boolean {
  const known = held.identity;
  if (known.sid !== session.sid || known.auth !== session.auth) return false;
  if (known.claims !== session.claims) {
    const a = known.claims;
    const b = session.claims;
    if (a.sub !== b.sub || a.email !== b.email || a.name !== b.name || a.preferred_username !== b.preferred_username) return false;
    known.claims = session.claims;
  }
  if (known.roles !== session.roles) {
    if (known.roles.length !== session.roles.length || known.roles.some((role, i) => role !== session.roles[i])) return false;
    known.roles = session.roles;
  }
  return true;
}
