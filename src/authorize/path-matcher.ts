// Path rules (public paths, local-login paths): compiles a list of patterns once
// into a predicate over the canonical request path (see http/request-target.ts), the only
// path any decision reads and the one the app receives. Matching is case-sensitive and never sees the query.
//
// A pattern is either
// - exact: `/healthz` matches `/healthz` only (not `/healthz/`, not `/healthz/x`);
// - a prefix, ending in `/`: `/public/` matches `/public/` and everything below it,
//   and also `/public` itself, as oauth2-proxy users expect. `/` matches every path.
//
// Patterns are put in canonical form like request paths at compile time (`/a b` and `/a%20b` are `/a%20b`,
// `/%7euser` is `/~user`; `/a/../b` is refused). A pattern that does not start with `/`, has a `?`, `#` or `*`
// (no queries, no globs), or that normalization refuses, throws PathPatternError
// naming it; the config layer reports it.

import { PathPatternError } from '../errors.js';
import { canonicalTarget } from '../http/request-target.js';

export type PathMatcher = (normalizedPath: string) => boolean;

export function compilePathMatcher(patterns: readonly string[]): PathMatcher {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    const path = normalizePattern(pattern);
    if (path.endsWith('/')) {
      prefixes.push(path);
      if (path.length > 1) exact.add(path.slice(0, -1));
    } else {
      exact.add(path);
    }
  }

  const outermost = outermostPrefixes(prefixes);
  if (outermost.length === 0) {
    if (exact.size === 0) return matchesNothing;
    return (path) => exact.has(path);
  }
  return (path) => {
    if (exact.has(path)) return true;
    for (const prefix of outermost) {
      if (path.startsWith(prefix)) return true;
    }
    return false;
  };
}

const matchesNothing: PathMatcher = () => false;

const NOT_A_PLAIN_PATH = /[?#*]/;

function normalizePattern(pattern: string): string {
  if (!pattern.startsWith('/')) throw new PathPatternError(pattern, 'must start with /');
  if (NOT_A_PLAIN_PATH.test(pattern)) {
    throw new PathPatternError(pattern, 'must be a plain path: no ?, # or * (a prefix ends in /)');
  }
  const canonical = canonicalTarget(pattern);
  if (!canonical.ok) throw new PathPatternError(pattern, `is not a valid path (${canonical.reason})`);
  return canonical.path;
}

/** Drops duplicates and prefixes already covered by a shorter one. */
function outermostPrefixes(prefixes: readonly string[]): string[] {
  const kept: string[] = [];
  for (const prefix of [...prefixes].sort((a, b) => a.length - b.length)) {
    if (!kept.some((shorter) => prefix.startsWith(shorter))) kept.push(prefix);
  }
  return kept;
}
