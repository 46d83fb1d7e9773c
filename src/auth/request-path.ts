// Request-path normalization: the one decoded, dot-resolved path that every routing
// and gate decision reads (internal routes, public paths, local-login paths),
// computed once per request from the raw request-target (`req.url`).
//
// It is for decisions only: the upstream receives the ORIGINAL request-target
// unchanged, so nothing here may ever be written back into the forwarded request.
//
// Rules, in order:
// - origin-form (`/a/b?x`) is the norm; absolute-form (`http://host/a`) gives its path
//   (an empty path is `/`); `*` and everything else is `not-origin-form`.
// - the path ends at the first `?` or `#`; query and fragment are never read.
// - `;params` are dropped from every segment (`/a;jsessionid=1/b` is `/a/b`); a `;`
//   only starts params when it is literal, not when it came from `%3B`.
// - each segment is percent-decoded once, as UTF-8 (`%2525` is `%25`, never `%`);
//   the BOM is kept as a character, never skipped.
// - refused, in the kept part and in the dropped params alike: an encoded `/`, any
//   `\` (raw or `%5C`), NUL, other control characters (< 0x20 and 0x7F), invalid
//   UTF-8 (overlong forms and surrogates included) and malformed `%` escapes.
// - empty segments collapse (`//a` is `/a`), `.` and `..` resolve (also when they
//   came from `%2E`), `..` above the root stays at the root, and a path whose last
//   segment is empty, `.` or `..` keeps a trailing slash (`/public/` stays `/public/`).
//
// Decoded `%23`, `%3F`, `%3B` and `%25` are ordinary characters of the path:
// `/admin%23/public` is the path `/admin#/public`, which is neither `/admin` nor
// under `/admin/` nor under `/public/`. So the result is not itself a request-target:
// normalizing it again is stable only when it has none of `%`, `;`, `?`, `#`.
//
// Node's HTTP parser refuses raw non-ASCII bytes in a request-target; other callers
// may pass them, and they are read as the UTF-8 of the characters given, as a WHATWG
// URL parser would. A lone surrogate is `invalid-utf8`.

export type RequestPathRefusal =
  | 'encoded-slash'
  | 'backslash'
  | 'nul'
  | 'control'
  | 'invalid-utf8'
  | 'invalid-percent'
  | 'not-origin-form';

export type RequestPath =
  | { ok: true; path: string }
  | { ok: false; reason: RequestPathRefusal };

type Refused = Extract<RequestPath, { ok: false }>;

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const PERCENT = 0x25;
const SEMICOLON = 0x3b;
const QUESTION = 0x3f;
const HASH = 0x23;

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;

const refusal = (reason: RequestPathRefusal): Refused => Object.freeze({ ok: false as const, reason });
const ENCODED_SLASH = refusal('encoded-slash');
const BACKSLASH_REFUSED = refusal('backslash');
const NUL = refusal('nul');
const CONTROL = refusal('control');
const INVALID_UTF8 = refusal('invalid-utf8');
const INVALID_PERCENT = refusal('invalid-percent');
const NOT_ORIGIN_FORM = refusal('not-origin-form');
const ROOT: RequestPath = Object.freeze({ ok: true as const, path: '/' });

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Decoded bytes of one segment. Reused across calls (decoding is synchronous); a
// target too long to keep a buffer for gets its own.
const MAX_RETAINED_SCRATCH = 64 * 1024;
let scratch = Buffer.alloc(0);

export function normalizeRequestPath(rawTarget: string): RequestPath {
  let start = 0;
  if (rawTarget.charCodeAt(0) !== SLASH) {
    const schemeAndAuthority = ABSOLUTE_FORM.exec(rawTarget);
    if (schemeAndAuthority === null) return NOT_ORIGIN_FORM;
    start = schemeAndAuthority[0].length;
    if (rawTarget.charCodeAt(start) !== SLASH) return ROOT;
  }

  // Common case: plain ASCII, nothing to decode, drop or resolve.
  const length = rawTarget.length;
  let end = length;
  for (let i = start; i < length; i++) {
    const c = rawTarget.charCodeAt(i);
    if (c === QUESTION || c === HASH) {
      end = i;
      break;
    }
    if (c === SLASH) {
      if (rawTarget.charCodeAt(i + 1) === SLASH) return normalizeSlow(rawTarget, start);
    } else if (c === DOT) {
      if (rawTarget.charCodeAt(i - 1) === SLASH && isDotSegmentAt(rawTarget, i)) {
        return normalizeSlow(rawTarget, start);
      }
    } else if (c <= 0x20 || c >= 0x7f || c === PERCENT || c === SEMICOLON || c === BACKSLASH) {
      return normalizeSlow(rawTarget, start);
    }
  }
  return { ok: true, path: start === 0 && end === length ? rawTarget : rawTarget.slice(start, end) };
}

/** `.` or `..` starting at `i`, followed by `/`, `?`, `#` or the end. */
function isDotSegmentAt(s: string, i: number): boolean {
  let next = i + 1;
  if (s.charCodeAt(next) === DOT) next++;
  if (next >= s.length) return true;
  const c = s.charCodeAt(next);
  return c === SLASH || c === QUESTION || c === HASH;
}

function normalizeSlow(raw: string, start: number): RequestPath {
  let end = start;
  while (end < raw.length) {
    const c = raw.charCodeAt(end);
    if (c === QUESTION || c === HASH) break;
    end++;
  }

  // A UTF-16 unit becomes at most 3 bytes (a surrogate pair: 2 units, 4 bytes).
  const needed = 3 * (end - start);
  let bytes = scratch;
  if (needed > bytes.length) {
    bytes = Buffer.allocUnsafe(needed);
    if (needed <= MAX_RETAINED_SCRATCH) scratch = bytes;
  }

  const segments: string[] = [];
  let endsAsDirectory = false;
  let segStart = start + 1; // raw[start] is the leading `/`
  for (;;) {
    let segEnd = segStart;
    let nameEnd = -1;
    while (segEnd < end) {
      const c = raw.charCodeAt(segEnd);
      if (c === SLASH) break;
      if (c === SEMICOLON && nameEnd < 0) nameEnd = segEnd;
      segEnd++;
    }
    if (nameEnd < 0) nameEnd = segEnd;

    const name = decodeSegment(raw, segStart, nameEnd, bytes);
    if (typeof name !== 'string') return name;
    if (nameEnd < segEnd) {
      const params = decodeSegment(raw, nameEnd + 1, segEnd, bytes);
      if (typeof params !== 'string') return params;
    }

    endsAsDirectory = name === '' || name === '.' || name === '..';
    if (name === '..') segments.pop();
    else if (!endsAsDirectory) segments.push(name);

    if (segEnd >= end) break;
    segStart = segEnd + 1;
  }

  if (segments.length === 0) return ROOT;
  const path = '/' + segments.join('/');
  return { ok: true, path: endsAsDirectory ? path + '/' : path };
}

/** Percent-decodes raw[from, to) as UTF-8, refusing what no decision may see. */
function decodeSegment(raw: string, from: number, to: number, bytes: Buffer): string | Refused {
  let length = 0;
  let ascii = true;
  for (let i = from; i < to; i++) {
    let c = raw.charCodeAt(i);
    if (c === PERCENT) {
      if (i + 2 >= to) return INVALID_PERCENT;
      const high = hexValue(raw.charCodeAt(i + 1));
      const low = hexValue(raw.charCodeAt(i + 2));
      if (high < 0 || low < 0) return INVALID_PERCENT;
      c = (high << 4) | low;
      i += 2;
      if (c === SLASH) return ENCODED_SLASH;
    } else if (c >= 0x80) {
      let codePoint = c;
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < to ? raw.charCodeAt(i + 1) : 0;
        if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return INVALID_UTF8;
        codePoint = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
      length = writeUtf8(codePoint, bytes, length);
      ascii = false;
      continue;
    }
    if (c < 0x20 || c === 0x7f) return c === 0 ? NUL : CONTROL;
    if (c === BACKSLASH) return BACKSLASH_REFUSED;
    if (c >= 0x80) ascii = false;
    bytes[length++] = c;
  }
  if (ascii) return bytes.toString('latin1', 0, length);
  try {
    return utf8.decode(bytes.subarray(0, length));
  } catch {
    return INVALID_UTF8;
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x57;
  return -1;
}

function writeUtf8(codePoint: number, bytes: Buffer, at: number): number {
  if (codePoint < 0x800) {
    bytes[at] = 0xc0 | (codePoint >> 6);
    bytes[at + 1] = 0x80 | (codePoint & 0x3f);
    return at + 2;
  }
  if (codePoint < 0x10000) {
    bytes[at] = 0xe0 | (codePoint >> 12);
    bytes[at + 1] = 0x80 | ((codePoint >> 6) & 0x3f);
    bytes[at + 2] = 0x80 | (codePoint & 0x3f);
    return at + 3;
  }
  bytes[at] = 0xf0 | (codePoint >> 18);
  bytes[at + 1] = 0x80 | ((codePoint >> 12) & 0x3f);
  bytes[at + 2] = 0x80 | ((codePoint >> 6) & 0x3f);
  bytes[at + 3] = 0x80 | (codePoint & 0x3f);
  return at + 4;
}
