// Authenticated encryption of small values (pending sign-in cookie, Redis session values) under the session secrets.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const HKDF_SALT = 'gatehouse-sealer-v1';
/** base64url length of a 12-byte IV (no padding). */
const IV_CHARS = 16;

/**
 * Seals JSON (or bytes) with AES-256-GCM. Each purpose gets its own key per secret (HKDF-SHA256), so a value sealed
 * for one purpose never opens under another. Secrets are newest first: sealing uses the first, unsealing tries all.
 */
export class Sealer {
  private readonly secrets: readonly string[];
  private readonly keysByPurpose = new Map<string, readonly Buffer[]>();

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new RangeError('Sealer needs at least one secret');
    this.secrets = [...secrets];
  }

  seal(data: unknown, purpose: string): string {
    return this.sealBytes(Buffer.from(JSON.stringify(data), 'utf8'), purpose);
  }

  /** The value sealed by `seal`, or undefined on any problem (tampered, truncated, wrong purpose or secret, bad JSON). */
  unseal<T>(value: string, purpose: string): T | undefined {
    const bytes = this.unsealBytes(value, purpose);
    if (bytes === undefined) return undefined;
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }

  /** `v1.<iv>.<ciphertext+tag>`, both parts base64url. */
  sealBytes(plaintext: Uint8Array, purpose: string): string {
    const key = this.keys(purpose)[0] as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  unsealBytes(value: string, purpose: string): Buffer | undefined {
    if (typeof value !== 'string') return undefined;
    const first = value.indexOf('.');
    const second = value.indexOf('.', first + 1);
    if (first !== VERSION.length || value.slice(0, first) !== VERSION) return undefined;
    if (second !== first + 1 + IV_CHARS || value.indexOf('.', second + 1) !== -1) return undefined;
    const iv = decodeBase64url(value.slice(first + 1, second));
    const body = decodeBase64url(value.slice(second + 1));
    if (iv === undefined || body === undefined || iv.length !== IV_BYTES || body.length < TAG_BYTES) return undefined;
    const ciphertext = body.subarray(0, body.length - TAG_BYTES);
    const tag = body.subarray(body.length - TAG_BYTES);
    for (const key of this.keys(purpose)) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch {
        // authentication failed under this secret: try the next (older) one
      }
    }
    return undefined;
  }

  private keys(purpose: string): readonly Buffer[] {
    let keys = this.keysByPurpose.get(purpose);
    if (keys === undefined) {
      keys = this.secrets.map((secret) => Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, `gatehouse seal: ${purpose}`, KEY_BYTES)));
      this.keysByPurpose.set(purpose, keys);
    }
    return keys;
  }
}

/** Strict base64url: Buffer.from silently skips foreign characters, so the decoded bytes must re-encode to the input. */
function decodeBase64url(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
