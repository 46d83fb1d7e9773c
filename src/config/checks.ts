// Checks of single config values that the schema runs, so `check-config` refuses everything `start` would: URLs,
// trust_proxy entries, path patterns, assertion keys, colours. Each returns the problem (the text after
// "<key>: ") or undefined; a problem never echoes a secret, even from a URL that does not parse.
import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import proxyAddr from 'proxy-addr';
import { compilePathMatcher } from '../authorize/path-matcher.js';
import { PathPatternError } from '../errors.js';

/** Hosts (as URL.hostname spells them) where plain http is accepted for development. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * The URL text with its credentials replaced by ***. In a URL that parses they end at the last @ of the authority;
 * in one that does not (a password with / or #), at the last @ of the text, so no part of the password shows.
 */
export function maskUrlCredentials(text: string): string {
  const url = parseUrl(text);
  if (url && url.username === '' && url.password === '') return text;
  const credentials = url ? /^([A-Za-z][A-Za-z0-9+.-]*:)?\/\/[^/?#\\]*@/s : /^([A-Za-z][A-Za-z0-9+.-]*:)?\/\/.*@/s;
  return text.replace(credentials, (_match, scheme: string | undefined) => `${scheme ?? ''}//***@`);
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function shown(text: string): string {
  return JSON.stringify(maskUrlCredentials(text));
}

/** public_url: an http(s) origin. A path is refused: routes, redirect_uri and cookies all live at the host's root. */
export function publicUrlProblem(value: string): string | undefined {
  if (value === '') return undefined;
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    return `must be an http(s) URL with a host, like https://app.example.com (got ${shown(value)})`;
  }
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    return `must be an origin without a path, query or fragment, like ${url.origin} (serving the app under a path is not supported: gatehouse's routes and cookies live at the root of the host)`;
  }
  return undefined;
}

/** An http(s) URL with a host (roles.url); empty is allowed (the key is then unused or reported elsewhere). */
export function httpUrlProblem(value: string): string | undefined {
  if (value === '') return undefined;
  const url = parseUrl(value);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return `must be an http(s) URL with a host (got ${shown(value)})`;
  return undefined;
}

/** pages.logo_url: what the page renderer shows; anything else would be dropped silently. */
export function logoUrlProblem(value: string): string | undefined {
  if (value === '') return undefined;
  const problem = httpUrlProblem(value);
  if (problem) return problem;
  const url = new URL(value);
  if ([...value].some((c) => c <= ' ' || (c >= '\u007f' && c <= '\u009f'))) return 'must not contain spaces or control characters';
  if (url.username !== '' || url.password !== '') return 'must not carry a user name or password';
  if (!/^[a-z0-9.-]+$/.test(url.hostname)) return `host must be a DNS name or an IPv4 address (got ${JSON.stringify(url.hostname)})`;
  return undefined;
}

/** An OpenID issuer: https, or http on a loopback host (development and tests). */
export function issuerProblem(value: string): string | undefined {
  if (value === '') return undefined;
  const url = parseUrl(value);
  if (!url) return `not a URL: ${shown(value)}`;
  if (url.protocol === 'https:' && url.hostname !== '') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return `${url.protocol}// is refused for ${url.hostname}: only https, or http on a loopback host (127.0.0.1, ::1, localhost) for development`;
}

/** session.redis.url: redis:// or rediss://, a host, an optional database number. */
export function redisUrlProblem(value: string): string | undefined {
  const url = parseUrl(value);
  if (!url) {
    return `not a valid redis:// or rediss:// URL: ${shown(value)} (a password with / ? # @ : or % must be percent-encoded in the URL; or set session.redis.password)`;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `must start with redis:// or rediss:// (got ${JSON.stringify(url.protocol)})`;
  if (url.hostname === '') return `has no host: ${shown(value)}`;
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d+$/.test(url.pathname))
    return `path must be a database number like /0 (got ${JSON.stringify(url.pathname)})`;
  return undefined;
}

/** session.redis.sentinel.nodes: host:port (a name or an IP; [v6]:port). */
export function sentinelNodeProblem(value: string): string | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) return `must be host:port, like sentinel-0:26379 (got ${JSON.stringify(value)})`;
  return undefined;
}

/** listen.host / ops.host: an IP address to bind (or localhost). */
export function bindHostProblem(value: string): string | undefined {
  if (isIP(value) !== 0 || value === 'localhost') return undefined;
  return `must be an IP address to listen on, like 0.0.0.0, 127.0.0.1 or :: (got ${JSON.stringify(value)})`;
}

/** One trust_proxy entry, checked by the same parser the proxy uses. */
export function trustProxyProblem(value: string): string | undefined {
  try {
    proxyAddr.compile([value]);
    return undefined;
  } catch (error) {
    return `${error instanceof Error ? error.message : String(error)} (expected an IP address, a CIDR like 10.0.0.0/8, or loopback, linklocal, uniquelocal)`;
  }
}

/** One public_paths / local_login.paths entry, checked by the same matcher the gate uses. */
export function pathPatternProblem(value: string): string | undefined {
  try {
    compilePathMatcher([value]);
    return undefined;
  } catch (error) {
    if (error instanceof PathPatternError) return `${JSON.stringify(value)} ${error.problem}`;
    throw error;
  }
}

/** pages.accent_color: the forms the page renderer uses; anything else would be dropped silently. */
export function colourProblem(value: string): string | undefined {
  if (value === '' || /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(value)) return undefined;
  return `must be a hex colour like #1f6feb or #17b (got ${JSON.stringify(value)}; colour names are not supported)`;
}

/** One identity.assertion.keys entry: an unencrypted EC P-256 private key, PEM (PKCS8 or SEC1) or JWK JSON. */
export function assertionKeyProblem(value: string): string | undefined {
  const text = value.trim();
  let key: KeyObject;
  if (text.startsWith('{')) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch {
      return 'starts with "{" but is not valid JSON (expected a JWK)';
    }
    if (typeof jwk !== 'object' || jwk === null || !('d' in jwk)) return 'is a JWK without "d": a private key is needed';
    try {
      key = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      return 'is not a usable private JWK';
    }
  } else {
    if (!text.includes('-----BEGIN')) return 'is neither a PEM private key nor a JWK JSON object';
    if (/-----BEGIN (?:PUBLIC KEY|CERTIFICATE)/.test(text)) return 'is a public key or certificate: a private key is needed';
    try {
      key = createPrivateKey({ key: text, format: 'pem' });
    } catch {
      return 'is not a readable unencrypted PEM private key (PKCS8 or SEC1)';
    }
  }
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return undefined;
  const kind =
    key.asymmetricKeyType === 'ec' ? `an EC ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown-curve'} key` : `an ${key.asymmetricKeyType ?? 'unknown'} key`;
  return `is ${kind}; ES256 needs an EC P-256 private key`;
}

/** A PEM file the Redis store reads at start (session.redis.tls.*): the same lines the store would throw. */
export function pemFileProblem(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
  }
  return text.includes('-----BEGIN ') ? undefined : `${file} holds no PEM block`;
}
