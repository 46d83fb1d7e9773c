// Turning an identity claim into a header value that is safe on the wire and decodable by the app.
//
// Encoding rule (one rule, every identity header): a value is a percent-encoded UTF-8 string that the
// app decodes with `decodeURIComponent` (per comma-separated item for the roles header).
// - Control characters (C0 incl. CR, LF, NUL; DEL; C1) are removed, never encoded.
// - `%` and every non-ASCII character are percent-encoded (UTF-8 bytes as %XX); other printable ASCII
//   stays as it is, so a plain ASCII value without `%` reaches the app unchanged; spaces at either end
//   are encoded too (%20), because HTTP drops them.
// - The display name is encoded with `encodeURIComponent` in full (spaces and punctuation too).
// - Values are cut at 4 KiB, between two characters: never inside a %XX triplet or a character's bytes.

/** Largest header value gatehouse sends, in bytes (every value is ASCII once encoded). */
export const HEADER_VALUE_LIMIT = 4096;

export interface EncodedHeaderValue {
  value: string;
  truncated: boolean;
}

/** How much of the value is encoded: only `%` and non-ASCII, or everything `encodeURIComponent` encodes. */
export type HeaderEncoding = 'non-ascii' | 'uri-component';

const CONTROL_CHARACTERS = /\p{Cc}/gu;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const NEEDS_ENCODING = /[^\x20-\x24\x26-\x7e]/;

/** A claim as a safe header value: control characters removed, `%` and non-ASCII percent-encoded, cut at 4 KiB. */
export function safeHeaderValue(value: string): string {
  return encodeHeaderValue(value, 'non-ascii').value;
}

/** Like `safeHeaderValue`, and says whether the value had to be cut. */
export function encodeHeaderValue(value: string, encoding: HeaderEncoding, limit = HEADER_VALUE_LIMIT): EncodedHeaderValue {
  const clean = value.replace(CONTROL_CHARACTERS, '').replace(LONE_SURROGATE, '\uFFFD');
  const edgeSpaces = clean.startsWith(' ') || clean.endsWith(' ');
  if (encoding === 'non-ascii' && clean.length <= limit && !edgeSpaces && !NEEDS_ENCODING.test(clean)) return { value: clean, truncated: false };
  const lead = edgeSpaces ? clean.length - clean.replace(/^ +/, '').length : 0;
  const trailFrom = edgeSpaces ? clean.replace(/ +$/, '').length : clean.length;
  let out = '';
  let offset = 0;
  for (const char of clean) {
    const edge = char === ' ' && (offset < lead || offset >= trailFrom);
    const piece = edge ? '%20' : encoding === 'uri-component' || NEEDS_ENCODING.test(char) ? encodeURIComponent(char) : char;
    if (out.length + piece.length > limit) return { value: out, truncated: true };
    out += piece;
    offset += char.length;
  }
  return { value: out, truncated: false };
}
