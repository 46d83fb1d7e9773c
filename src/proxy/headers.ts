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

/** Names listed in a Connection header, lower-cased; these are hop-by-hop too. */
function connectionTokens(rawHeaders: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).length === 10 && (rawHeaders[i] as string).toLowerCase() === 'connection') {
      for (const token of (rawHeaders[i + 1] as string).split(',')) {
        const name = token.trim().toLowerCase();
        if (name && name !== 'close' && name !== 'keep-alive') (tokens ??= new Set()).add(name);
      }
    }
  }
  return tokens;
}

/**
 * The flat [name, value, …] header list sent upstream, built in one pass over the raw request headers.
 * `extra` (identity headers of a verified session) is appended after stripping, so it can never be spoofed.
 */
export function buildUpstreamHeaders(rawHeaders: readonly string[], options: UpstreamHeaderOptions, extra?: readonly string[]): string[] {
  const out: string[] = [];
  const listed = connectionTokens(rawHeaders);
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower) || options.isIdentityHeader(lower)) continue;
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
  const trusted = (forwardedFor ?? forwardedProto ?? forwardedHost) !== undefined && options.trustPeer(options.remoteAddress);
  out.push('x-forwarded-for', trusted && forwardedFor ? `${forwardedFor}, ${options.remoteAddress}` : options.remoteAddress);
  out.push('x-forwarded-proto', trusted && forwardedProto ? forwardedProto : 'http');
  const forwardedHostValue = trusted && forwardedHost ? forwardedHost : host;
  if (forwardedHostValue) out.push('x-forwarded-host', forwardedHostValue);
  out.push('x-request-id', options.requestId);
  if (extra) for (let i = 0; i < extra.length; i++) out.push(extra[i] as string);
  return out;
}

const RESPONSE_HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate']);

/** Response headers from undici (lower-cased object) minus hop-by-hop ones, as a flat list for writeHead. */
export function filterResponseHeaders(headers: Record<string, string | string[] | undefined>): string[] {
  const listed = typeof headers.connection === 'string' ? headers.connection.toLowerCase().split(',').map((t) => t.trim()) : undefined;
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
