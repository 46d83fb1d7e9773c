// How apps read a forwarded request-target: the parsers and routers apps really use, each reduced to the path it
// routes on. Used by the differential test to check that gatehouse decided on the path every one of them routes.
// Real implementations where this machine has them (WHATWG URL in Node, find-my-way, Python's urllib.parse run by
// python3); documented rules written out where it does not (Go's path.Clean, Tomcat's path parameters).
import { spawnSync } from 'node:child_process';
import FindMyWay from 'find-my-way';

export interface AppReading {
  /** The path the app routes on, in the parser's own form (decoded for the decoding ones). */
  path: string;
  /** Whether that path is in `decoded` form (percent-escapes resolved). */
  decoded: boolean;
}

/** WHATWG URL (Node's `new URL(req.url, base)`): a leading `//` starts an authority, dot segments resolve. */
export function whatwg(target: string): AppReading {
  return { path: new URL(target, 'http://app.invalid').pathname, decoded: false };
}

/** Express 4/5 and most Node routers: the raw path of `req.url`, matched undecoded (params decoded later). */
export function rawPrefix(target: string): AppReading {
  const q = target.indexOf('?');
  return { path: q === -1 ? target : target.slice(0, q), decoded: false };
}

/** Go's net/http: `URL.Path` is percent-decoded, ServeMux routes on path.Clean of it (trailing slash kept). */
export function goServeMux(target: string): AppReading {
  const decoded = decodeLeniently(rawPrefix(target).path);
  const cleaned = goPathClean(decoded);
  return { path: decoded.endsWith('/') && cleaned !== '/' ? cleaned + '/' : cleaned, decoded: true };
}

/** Go's path.Clean, as documented: collapse `//`, drop `.`, resolve `..` lexically, `..` above the root stays at it. */
export function goPathClean(path: string): string {
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  return rooted ? '/' + joined : joined === '' ? '.' : joined;
}

/** Tomcat / Jetty (servlet containers, Spring): `;params` removed from every segment, then decoded, then normalized. */
export function servlet(target: string): AppReading {
  const withoutParams = rawPrefix(target)
    .path.split('/')
    .map((segment) => {
      const semicolon = segment.indexOf(';');
      return semicolon === -1 ? segment : segment.slice(0, semicolon);
    })
    .join('/');
  const decoded = decodeLeniently(withoutParams);
  const cleaned = goPathClean(decoded);
  return { path: decoded.endsWith('/') && cleaned !== '/' ? cleaned + '/' : cleaned, decoded: true };
}

export type Route = 'public' | 'healthz' | 'login' | 'protected';

/** find-my-way (Fastify's router), the real package, with the routes of the test config. */
export function findMyWayRouter(options: { useSemicolonDelimiter: boolean }): (target: string) => Route {
  // useSemicolonDelimiter (the path ends at the first `;`, as in Fastify before v5) is missing from its typings
  const config: FindMyWay.Config<FindMyWay.HTTPVersion.V1> = {};
  Object.assign(config, { useSemicolonDelimiter: options.useSemicolonDelimiter });
  const router = FindMyWay(config);
  const routes: Array<[string, Route]> = [
    ['/public', 'public'],
    ['/public/*', 'public'],
    ['/healthz', 'healthz'],
    ['/login.html', 'login'],
    ['/*', 'protected'],
  ];
  for (const [path, route] of routes) router.on('GET', path, () => route);
  return (target) => {
    const found = router.find('GET', target);
    return found ? (found.handler as unknown as () => Route)() : 'protected';
  };
}

export interface PythonReading {
  /** `urllib.parse.urlsplit(target).path` */
  path: string;
  /** `urllib.parse.unquote` of it */
  unquoted: string;
  /** `posixpath.normpath` of that (what a WSGI app that normalizes routes on) */
  normalized: string;
}

const PYTHON = `
import json, posixpath, sys
from urllib.parse import urlsplit, unquote
out = []
for target in json.load(sys.stdin):
    path = urlsplit(target).path
    out.append({"path": path, "unquoted": unquote(path), "normalized": posixpath.normpath(unquote(path)) if path else ""})
json.dump(out, sys.stdout)
`;

/** Python's urllib.parse on every target, in one python3 run; undefined when python3 is missing. */
export function pythonReadings(targets: readonly string[]): PythonReading[] | undefined {
  const run = spawnSync('python3', ['-c', PYTHON], { input: JSON.stringify(targets), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (run.error || run.status !== 0) return undefined;
  return JSON.parse(run.stdout) as PythonReading[];
}

/** Percent-decoding as a decoding app does it (UTF-8; invalid sequences left as they are). */
export function decodeLeniently(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
