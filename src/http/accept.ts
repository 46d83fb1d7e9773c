// Content negotiation for gatehouse's own answers: HTML for browsers, JSON for API clients.

/**
 * True when the client ranks a JSON type (`application/json`, `*+json`) above HTML:
 * a higher q, or the same q listed first. Wildcard ranges count for neither, so a
 * browser navigation, a bare wildcard and a missing header all get HTML.
 */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = { q: 0, position: Infinity };
  const html = { q: 0, position: Infinity };
  const ranges = accept.split(',');
  for (let position = 0; position < ranges.length; position++) {
    const [mediaType = '', ...params] = (ranges[position] ?? '').split(';');
    const type = mediaType.trim().toLowerCase();
    const best = isJsonType(type) ? json : isHtmlType(type) ? html : undefined;
    if (best === undefined) continue;
    const q = quality(params);
    if (q > best.q) {
      best.q = q;
      best.position = position;
    }
  }
  return json.q > 0 && (json.q > html.q || (json.q === html.q && json.position < html.position));
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function isHtmlType(type: string): boolean {
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/** The `q` parameter of a media range; absent or malformed means 1. */
function quality(params: string[]): number {
  for (const param of params) {
    const match = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(param);
    if (match?.[1] === undefined) continue;
    const q = Number(match[1]);
    return Number.isFinite(q) && q >= 0 && q <= 1 ? q : 1;
  }
  return 1;
}
