// The canonical request-target: computed once per request from the raw target (`req.url`) and the Host header,
// it is both what every decision reads (internal routes, public and local-login paths) and what the app
// receives. Apps parse a target with different parsers (WHATWG URL, raw-prefix routers, Go's path.Clean,
// Werkzeug, Tomcat); the canonical form is a fixed point of all of them, so none can read another path than
// the one gatehouse decided on.
//
// Per case, refuse (400) or rewrite (the app gets the rewritten target):
// - absolute-form `http(s)://authority/p?q`: rewritten to origin-form `/p?q` when the authority is the Host
//   header (RFC 9112 §3.2.2); another authority is refused, so an app building links from Host is never
//   handed a foreign host. `*` and anything not starting with `/` are refused.
// - a raw `#` anywhere: refused. Browsers never send fragments; parsers disagree on where the path ends.
// - empty segments collapse (`//a//b/` → `/a/b/`): a leading `//` would be an authority to a WHATWG parser.
//   Browsers send `//` only when the app itself emits such links; those keep working with the collapsed path.
// - dot segments (`.`, `..` and their `%2e` spellings), also followed by `;params` (`..;/`, which Tomcat and
//   Jetty read as `..`): refused. Clients remove dot segments before sending (RFC 3986 §5.2.4), so only a
//   crafted request has them, and resolving them would hand the app a path its own client never asked for.
// - percent-encoding is normalized (RFC 3986 §6.2.2): escapes of unreserved characters are decoded
//   (`%7e%61` → `~a`), other escapes get upper-case hex, and characters not allowed raw in a path
//   (`"`, `<`, `{`, `|`, `[`, …) are escaped. `;` stays an ordinary character of its segment.
// - an encoded `/` or `\` (`%2F`, `%5C`), a raw `\`, NUL and other control characters, malformed escapes and
//   escapes that are not UTF-8 (overlong forms included): refused. Decoding parsers would split or
//   reinterpret them.
// The query is forwarded as sent; it is never read by a decision.
import type { IncomingMessage } from 'node:http';

export type RequestTargetRefusal =
  | 'duplicate-host'
  | 'not-origin-form'
  | 'foreign-authority'
  | 'fragment'
  | 'dot-segment'
  | 'encoded-slash'
  | 'backslash'
  | 'nul'
  | 'control'
  | 'invalid-utf8'
  | 'invalid-percent';

export type RequestTarget =
  /** `path` is what decisions match; `target` (path + original query) is what the app receives. */
  { readonly ok: true; readonly path: string; readonly target: string } | { readonly ok: false; readonly reason: RequestTargetRefusal };

type Refused = Extract<RequestTarget, { ok: false }>;

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const SEMICOLON = 0x3b;
const BACKSLASH = 0x5c;

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)/i;

/** Allowed raw in a canonical segment: unreserved, sub-delims, `:` and `@` (RFC 3986 pchar without `%`). */
const PCHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") PCHAR[c.charCodeAt(0)] = 1;
/** Unreserved: an escape of one of these is decoded. */
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
const HEX = '0123456789ABCDEF';

const refusal = (reason: RequestTargetRefusal): Refused => Object.freeze({ ok: false as const, reason });
const REFUSALS: Readonly<Record<RequestTargetRefusal, Refused>> = {
  'duplicate-host': refusal('duplicate-host'),
  'not-origin-form': refusal('not-origin-form'),
  'foreign-authority': refusal('foreign-authority'),
  fragment: refusal('fragment'),
  'dot-segment': refusal('dot-segment'),
  'encoded-slash': refusal('encoded-slash'),
  backslash: refusal('backslash'),
  nul: refusal('nul'),
  control: refusal('control'),
  'invalid-utf8': refusal('invalid-utf8'),
  'invalid-percent': refusal('invalid-percent'),
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The canonical target of a request. Two `Host` headers are refused (RFC 9112 §3.2): proxies and apps would
 * each pick one.
 */
export function requestTargetOf(req: IncomingMessage): RequestTarget {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return REFUSALS['duplicate-host'];
  return canonicalTarget(req.url ?? '/', req.headers.host ?? '');
}

/**
 * The canonical form of `raw` (a request-target, or a configured path pattern when `host` is undefined: then
 * only origin-form is accepted).
 */
export function canonicalTarget(raw: string, host?: string): RequestTarget {
  let start = 0;
  if (raw.charCodeAt(0) !== SLASH) {
    const absolute = host === undefined ? null : ABSOLUTE_FORM.exec(raw);
    if (absolute === null) return REFUSALS['not-origin-form'];
    if ((absolute[1] as string).toLowerCase() !== host?.toLowerCase()) return REFUSALS['foreign-authority'];
    start = absolute[0].length;
  }
  if (raw.indexOf('#', start) !== -1) return REFUSALS.fragment;

  let end = raw.indexOf('?', start);
  if (end === -1) end = raw.length;
  if (start === end) return { ok: true, path: '/', target: '/' + raw.slice(end) };

  // Common case: every character allowed raw, no empty or dot segment: the target is already canonical.
  for (let i = start; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c === SLASH) {
      if (i > start && raw.charCodeAt(i - 1) === SLASH) return canonicalSlow(raw, start, end);
    } else if (c === DOT) {
      if (raw.charCodeAt(i - 1) === SLASH && isDotNameAt(raw, i, end)) return canonicalSlow(raw, start, end);
    } else if (c >= 0x80 || PCHAR[c] !== 1) {
      return canonicalSlow(raw, start, end);
    }
  }
  if (start === 0) return { ok: true, path: end === raw.length ? raw : raw.slice(0, end), target: raw };
  return { ok: true, path: raw.slice(start, end), target: raw.slice(start) };
}

/** `.` or `..` starting at `i`, followed by `/`, `;` or the end of the path. */
function isDotNameAt(s: string, i: number, end: number): boolean {
  let next = i + 1;
  if (s.charCodeAt(next) === DOT) next++;
  if (next >= end) return true;
  const c = s.charCodeAt(next);
  return c === SLASH || c === SEMICOLON;
}

function canonicalSlow(raw: string, start: number, end: number): RequestTarget {
  let path = '';
  let trailingSlash = false;
  let segStart = start + 1; // raw[start] is the leading `/`
  for (;;) {
    let segEnd = raw.indexOf('/', segStart);
    if (segEnd === -1 || segEnd > end) segEnd = end;
    const segment = canonicalSegment(raw, segStart, segEnd);
    if (typeof segment !== 'string') return segment;
    trailingSlash = segment === '';
    if (!trailingSlash) {
      const params = segment.indexOf(';');
      const name = params === -1 ? segment : segment.slice(0, params);
      if (name === '.' || name === '..') return REFUSALS['dot-segment'];
      path += '/' + segment;
    }
    if (segEnd >= end) break;
    segStart = segEnd + 1;
  }
  if (trailingSlash || path === '') path += '/';
  return { ok: true, path, target: path + raw.slice(end) };
}

/** One segment in canonical spelling, or why it is refused. */
function canonicalSegment(raw: string, from: number, to: number): string | Refused {
  let out = '';
  let pending: number[] | undefined; // bytes of consecutive escapes ≥ 0x80, checked as UTF-8 together
  const flush = (): Refused | undefined => {
    if (pending === undefined) return undefined;
    try {
      utf8.decode(Uint8Array.from(pending));
    } catch {
      return REFUSALS['invalid-utf8'];
    }
    for (const byte of pending) out += escape(byte);
    pending = undefined;
    return undefined;
  };
  for (let i = from; i < to; i++) {
    const c = raw.charCodeAt(i);
    if (c === PERCENT) {
      const high = hexValue(raw.charCodeAt(i + 1));
      const low = i + 2 < to ? hexValue(raw.charCodeAt(i + 2)) : -1;
      if (high < 0 || low < 0) return REFUSALS['invalid-percent'];
      const byte = (high << 4) | low;
      i += 2;
      if (byte >= 0x80) {
        (pending ??= []).push(byte);
        continue;
      }
      const refused = flush() ?? refuseByte(byte, true);
      if (refused) return refused;
      out += UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : escape(byte);
      continue;
    }
    const refused = flush();
    if (refused) return refused;
    if (c >= 0x80) {
      // Not from Node's parser (it refuses raw non-ASCII), but from configured patterns: their UTF-8 bytes.
      const codePoint = raw.codePointAt(i) as number;
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) return REFUSALS['invalid-utf8'];
      if (codePoint > 0xffff) i++;
      for (const byte of Buffer.from(String.fromCodePoint(codePoint), 'utf8')) out += escape(byte);
      continue;
    }
    const byteRefused = refuseByte(c, false);
    if (byteRefused) return byteRefused;
    out += PCHAR[c] === 1 ? raw[i] : escape(c);
  }
  return flush() ?? out;
}

function refuseByte(byte: number, encoded: boolean): Refused | undefined {
  if (byte === 0) return REFUSALS.nul;
  if (byte < 0x20 || byte === 0x7f) return REFUSALS.control;
  if (byte === BACKSLASH) return REFUSALS.backslash;
  if (encoded && byte === SLASH) return REFUSALS['encoded-slash'];
  return undefined;
}

function escape(byte: number): string {
  return '%' + HEX[byte >> 4] + HEX[byte & 15];
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x57;
  return -1;
}
