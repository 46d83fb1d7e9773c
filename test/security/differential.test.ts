// Differential test: for thousands of request-targets (generated with fast-check, plus the open-redirect corpus),
// gatehouse's decision must agree with how the app reads the target gatehouse forwards, under the parsers apps
// really use (test/helpers/app-parsers.ts). The invariant: whatever gatehouse lets through anonymously, every
// parser routes to a path that is anonymous too; and for the parsers that do not strip `;params` the routed path
// is byte for byte the one gatehouse decided on. A slice of the targets then goes over raw sockets to a live
// gatehouse, to show the server forwards exactly the canonical target.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePathMatcher } from '../../src/authorize/path-matcher.js';
import { canonicalTarget } from '../../src/http/request-target.js';
import { decodeLeniently, findMyWayRouter, goServeMux, pythonReadings, rawPrefix, servlet, whatwg, type Route } from '../helpers/app-parsers.js';
import { startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { rawRequest } from '../helpers/gatehouse-process.js';

const HOST = 'gate.example:8443';
const PUBLIC = ['/public/', '/healthz'];
const LOCAL_LOGIN = ['/login.html'];
const isPublic = compilePathMatcher(PUBLIC);
const isLocalLogin = compilePathMatcher(LOCAL_LOGIN);
const anonymous = (path: string): boolean => isPublic(path) || isLocalLogin(path);
const anonymousRoute = (route: Route): boolean => route !== 'protected';

const SEGMENT = fc.constantFrom(
  'public',
  'public',
  'admin',
  'healthz',
  'login.html',
  'x',
  '',
  '',
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '.%2e',
  ';',
  ';x=1',
  '..;',
  'public;a',
  '%2f',
  '%5c',
  '\\',
  '%3b',
  '%23',
  '%3f',
  '%25',
  '%2525',
  '%70ublic',
  'caf%c3%a9',
  '%c0%ae',
  '%00',
  '%0a',
  '"',
  '{',
  '|',
  '^',
  '[',
  '@',
  ':',
  '~',
  '%7e',
  '%41',
  '#',
  '%ff',
  'a b',
);
const TAIL = fc.constantFrom('', '', '?x=/public/', '?a=..%2f', '?', '#frag', '?q#/public/');
const START = fc.constantFrom('', '', '', `http://${HOST}`, 'http://evil.example', 'https://GATE.example:8443');
const TARGET = fc
  .tuple(START, fc.array(SEGMENT, { minLength: 1, maxLength: 7 }), TAIL)
  .map(([start, segments, tail]) => `${start}/${segments.join('/')}${tail}`);

const SEED = Number(process.env.FC_SEED ?? 20261130);
const corpus = readFileSync(new URL('../fixtures/openredirects.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line !== '')
  .flatMap((line) => (line.startsWith('/') ? [line, `/public/${line}`] : [`/public/${line}`]));
const TARGETS = [...fc.sample(TARGET, { numRuns: 6000, seed: SEED }), ...corpus];

interface Decided {
  target: string;
  path: string;
  forwarded: string;
}

describe(`differential: gatehouse's decision vs how apps read what it forwards (${TARGETS.length} targets, seed ${SEED})`, () => {
  const decided: Decided[] = [];
  let refused = 0;
  let rewritten = 0;
  for (const target of TARGETS) {
    const result = canonicalTarget(target, HOST);
    if (!result.ok) {
      refused++;
      continue;
    }
    if (result.target !== target) rewritten++;
    decided.push({ target, path: result.path, forwarded: result.target });
  }

  it('the sample covers every outcome: refused, rewritten, passed unchanged, anonymous and protected', () => {
    const anonymousCount = decided.filter((d) => anonymous(d.path)).length;
    expect(refused).toBeGreaterThan(500);
    expect(rewritten).toBeGreaterThan(500);
    expect(decided.length - rewritten).toBeGreaterThan(200);
    expect(anonymousCount).toBeGreaterThan(300);
    expect(decided.length - anonymousCount).toBeGreaterThan(300);
  });

  it('WHATWG URL and raw-prefix routers route on exactly the path gatehouse decided on', () => {
    for (const d of decided) {
      expect([d.target, whatwg(d.forwarded).path]).toEqual([d.target, d.path]);
      expect([d.target, rawPrefix(d.forwarded).path]).toEqual([d.target, d.path]);
    }
  });

  it('Go (decoded URL.Path, path.Clean) routes on the decoded form of that path; nothing left to clean', () => {
    for (const d of decided) expect([d.target, goServeMux(d.forwarded).path]).toEqual([d.target, decodeLeniently(d.path)]);
  });

  it("Python's urllib.parse splits the same path; posixpath.normpath finds nothing to resolve", (context) => {
    const readings = pythonReadings(decided.map((d) => d.forwarded));
    if (!readings) return context.skip('python3 is not installed');
    decided.forEach((d, i) => {
      const reading = readings[i];
      expect([d.target, reading?.path]).toEqual([d.target, d.path]);
      const unquoted = reading?.unquoted ?? '';
      const expected = unquoted.length > 1 && unquoted.endsWith('/') ? unquoted.slice(0, -1) : unquoted;
      expect([d.target, reading?.normalized]).toEqual([d.target, expected]);
    });
  });

  it('no parser routes an anonymously passed target to a protected path (servlet ;params, find-my-way both modes)', () => {
    const routers = [findMyWayRouter({ useSemicolonDelimiter: false }), findMyWayRouter({ useSemicolonDelimiter: true })];
    for (const d of decided) {
      if (!anonymous(d.path)) continue;
      const readings = [whatwg(d.forwarded), rawPrefix(d.forwarded), goServeMux(d.forwarded), servlet(d.forwarded)];
      for (const reading of readings) expect([d.target, anonymous(reading.path)]).toEqual([d.target, true]);
      for (const route of routers) expect([d.target, anonymousRoute(route(d.forwarded))]).toEqual([d.target, true]);
    }
  });
});

describe('differential over raw sockets: a live gatehouse forwards exactly the canonical target', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: { public_paths: PUBLIC, local_login: { enabled: true, paths: LOCAL_LOGIN } } });
  });
  afterAll(async () => {
    await stack.close();
  });

  it('400 targets: refused → 400 and nothing forwarded; anonymous → the app gets the canonical target; else 401', async () => {
    const host = new URL(stack.url).host;
    // Node's HTTP parser refuses raw spaces and non-ASCII before gatehouse sees them
    const sendable = TARGETS.filter((t) => /^[\x21-\x7e]+$/.test(t)).map((t) =>
      t.replaceAll(HOST, host).replace('https://GATE.example:8443', `http://${host}`),
    );
    const sample = fc.sample(fc.constantFrom(...sendable), { numRuns: 400, seed: SEED });
    for (const target of sample) {
      const expected = canonicalTarget(target, host);
      const before = stack.upstream.requests.length;
      const response = await rawRequest(stack.url, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);
      const forwarded = stack.upstream.requests.slice(before).map((r) => r.url);
      if (!expected.ok) expect([target, response.status, forwarded]).toEqual([target, 400, []]);
      else if (anonymous(expected.path)) expect([target, response.status, forwarded]).toEqual([target, 200, [expected.target]]);
      else expect([target, response.status, forwarded]).toEqual([target, 401, []]);
    }
  });
});
