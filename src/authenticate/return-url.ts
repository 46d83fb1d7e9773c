// Return-URL (`rd`) validation: only a same-origin relative path survives, in the
// canonical form a URL parser gives it; anything a browser could read as another
// origin or a script falls back.
//
// A value passes when, both as given and after canonicalization:
// - it is 1 to 2048 characters, starts with `/`, and the next character (if any) is
//   neither `/` nor `\` nor an encoded `/` or `\` (`/%2F`, `/%5C`);
// - it has no `\` and no control character, raw or percent-encoded (`%00`-`%1F`,
//   `%7F`): URL parsers drop tab, CR and LF, so a raw `/\t/x` becomes `//x`, and the
//   encoded forms are one decode away from the same;
// - resolved against a placeholder origin, it keeps that origin (no scheme, no host).
// What is returned is `pathname + search + hash` of the parsed URL, so `/./`-style
// tricks that a parser turns into `//host` are caught by the second check.
// The fallback is trusted (it comes from config or code), never checked.

const PLACEHOLDER_ORIGIN = 'http://gatehouse.invalid';
const MAX_LENGTH = 2048;

export function safeReturnPath(rd: string | null | undefined, fallback = '/'): string {
  if (typeof rd !== 'string' || !hasSafeShape(rd)) return fallback;
  let url: URL;
  try {
    url = new URL(rd, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN) return fallback;
  const canonical = url.pathname + url.search + url.hash;
  return hasSafeShape(canonical) ? canonical : fallback;
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const PERCENT = 0x25;

function hasSafeShape(path: string): boolean {
  if (path.length === 0 || path.length > MAX_LENGTH || path.charCodeAt(0) !== SLASH) return false;
  const second = path.charCodeAt(1);
  if (second === SLASH || second === BACKSLASH) return false;
  if (second === PERCENT && encodesSlashOrBackslash(path, 1)) return false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === BACKSLASH) return false;
    if (c === PERCENT && encodesControl(path, i)) return false;
  }
  return true;
}

/** `%2F` or `%5C` (any case) at `i`. */
function encodesSlashOrBackslash(s: string, i: number): boolean {
  const high = s.charCodeAt(i + 1);
  const low = s.charCodeAt(i + 2) | 0x20;
  return (high === 0x32 && low === 0x66) || (high === 0x35 && low === 0x63);
}

/** `%00`-`%1F` or `%7F` (any case) at `i`. */
function encodesControl(s: string, i: number): boolean {
  const high = s.charCodeAt(i + 1);
  const low = s.charCodeAt(i + 2);
  const lowIsHex = (low >= 0x30 && low <= 0x39) || ((low | 0x20) >= 0x61 && (low | 0x20) <= 0x66);
  if (!lowIsHex) return false;
  return high === 0x30 || high === 0x31 || (high === 0x37 && (low | 0x20) === 0x66);
}
