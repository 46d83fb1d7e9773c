// Header hygiene between client and app: hop-by-hop removal, X-Forwarded-*, request id, identity stripping.

/** RFC 9110 §7.6.1 connection-specific fields, plus `expect` (gatehouse answers 100-continue itself). */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

const FORWARDED: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', 'forwarded']);

export interface UpstreamHeaderOptions {
  requestId: string;
  remoteAddress: string;
  /** Whether X-Forwarded-* sent by this peer (`remoteAddress`) are believed; evaluated only when the client sent some. */
  trustPeer: (remoteAddress: string) => boolean;
  isIdentityHeader: (name: string) => boolean;
  /** Rewrites the Cookie header (drops gatehouse's own cookies); returns '' to drop it entirely. */
  filterCookie?: (value: string) => string;
}

/** Adds the names a Connection header lists (lower-cased, except close/keep-alive): they are hop-by-hop too. */
function addConnectionTokens(value: string, tokens: Set<string> | undefined): Set<string> | undefined {
  // what nearly every client sends, read without splitting
  if (value === 'keep-alive' || value === 'close') return tokens;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') (tokens ??= new Set()).add(name);
  }
  return tokens;
}

/** Removes the headers a Connection header listed; rare, so done after the main pass instead of a second scan. */
function withoutListed(headers: string[], listed: ReadonlySet<string>): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!listed.has((headers[i] as string).toLowerCase())) kept.push(headers[i] as string, headers[i + 1] as string);
  }
  return kept;
}

/**
 * The flat [name, value, …] header list sent upstream, built in one pass over the raw request headers.
 * `extra` (identity headers of a verified session) is appended after stripping, so it can never be spoofed.
 */
export function buildUpstreamHeaders(rawHeaders: readonly string[], options: UpstreamHeaderOptions, extra?: readonly string[]): string[] {
  let out: string[] = [];
  let listed: Set<string> | undefined;
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') listed = addConnectionTokens(value, listed);
      continue;
    }
    if (options.isIdentityHeader(lower)) continue;
    if (FORWARDED.has(lower)) {
      if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      else if (lower === 'x-forwarded-proto') forwardedProto ??= value;
      else if (lower === 'x-forwarded-host') forwardedHost ??= value;
      continue;
    }
    if (lower === 'host') host = value;
    if (lower === 'cookie' && options.filterCookie) {
      const kept = options.filterCookie(value);
      if (kept) out.push(name, kept);
      continue;
    }
    out.push(name, value);
  }
  if (listed) {
    out = withoutListed(out, listed);
    if (listed.has('x-forwarded-for')) forwardedFor = undefined;
    if (listed.has('x-forwarded-proto')) forwardedProto = undefined;
    if (listed.has('x-forwarded-host')) forwardedHost = undefined;
  }
  const trusted = (forwardedFor ?? forwardedProto ?? forwardedHost) !== undefined && options.trustPeer(options.remoteAddress);
  out.push('x-forwarded-for', trusted && forwardedFor ? `${forwardedFor}, ${options.remoteAddress}` : options.remoteAddress);
  out.push('x-forwarded-proto', trusted && forwardedProto ? forwardedProto : 'http');
  const forwardedHostValue = trusted && forwardedHost ? forwardedHost : host;
  if (forwardedHostValue) out.push('x-forwarded-host', forwardedHostValue);
  out.push('x-request-id', options.requestId);
  if (extra) for (let i = 0; i < extra.length; i++) out.push(extra[i] as string);
  return out;
}

const RESPONSE_HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
]);

/** Response headers from undici (lower-cased object) minus hop-by-hop ones, as a flat list for writeHead. */
export function filterResponseHeaders(headers: Record<string, string | string[] | undefined>): string[] {
  const connection = headers.connection;
  // what nearly every app sends (Node's server on every response) lists no other header: read without splitting
  const listed =
    typeof connection === 'string' && connection !== 'keep-alive' && connection !== 'close'
      ? connection
          .toLowerCase()
          .split(',')
          .map((t) => t.trim())
      : undefined;
  const out: string[] = [];
  for (const name in headers) {
    if (RESPONSE_HOP_BY_HOP.has(name) || listed?.includes(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  return out;
}
