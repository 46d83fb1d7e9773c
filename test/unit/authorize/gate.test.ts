// The gate's decision table, without a provider or a socket: real sessions in a memory store and real bearer tokens
// (a counting verifier standing in for the provider's keys), one injected clock for both, node:http request and
// response objects that are never sent. What the gate decided is the admission; what it answered is on `res`.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RequestAdmission, RequestContext, UpgradeAdmission } from '../../../src/authorize/access.js';
import { AccessPolicy } from '../../../src/authorize/access-rules.js';
import { Authenticator } from '../../../src/authorize/authentication.js';
import { BearerTokens, type TokenVerifier, type VerifiedToken } from '../../../src/authorize/bearer.js';
import { Gate } from '../../../src/authorize/gate.js';
import { Provider } from '../../../src/authenticate/provider.js';
import { providerOptions, routeUrlsOf, sessionsOptions } from '../../../src/cloud-options.js';
import { configSchema } from '../../../src/config/schema.js';
import { TokenInvalidError } from '../../../src/errors.js';
import { isPromise } from '../../../src/maybe-promise.js';
import { createLogger } from '../../../src/ops/logger.js';
import { Readiness } from '../../../src/ops/readiness.js';
import { brandingOf } from '../../../src/pages/render.js';
import { MemoryStore } from '../../../src/session/memory-store.js';
import { SessionCookie } from '../../../src/session/session-cookie.js';
import { Sessions } from '../../../src/session/sessions.js';

const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;
const HTML = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
const JSON_API = { accept: 'application/json' };

class CountingVerifier implements TokenVerifier {
  calls = 0;
  constructor(private readonly expiresAt: number) {}
  async verify(token: string): Promise<VerifiedToken> {
    this.calls++;
    if (token.startsWith('bad')) throw new TokenInvalidError('bad signature');
    return { claims: { sub: `svc-${token}`, roles: token.includes('admin') ? ['admin'] : ['reader'] }, expiresAt: this.expiresAt };
  }
}

function setup(overrides: Record<string, unknown> = {}) {
  let now = T0;
  const clock = (): number => now;
  const config = configSchema.parse({
    mode: 'cloud',
    public_url: 'http://127.0.0.1:8080',
    sso: { issuer: 'http://127.0.0.1:9', client_id: 'gate-test', client_secret: 'gate-test-secret' },
    session: { secrets: ['gate-unit-test-session-secret-0123456789'] },
    bearer: { enabled: true, audiences: ['https://api.example.test'] },
    public_paths: ['/public/'],
    access: { rules: [{ path: '/admin/', allow: { roles: ['admin'] } }] },
    ...overrides,
  });
  const logger = createLogger({ level: 'silent' });
  const store = new MemoryStore({ maxSessions: 100, idleTimeoutMs: config.session.idle_timeout, now: clock, sweepIntervalMs: 0 });
  const cookie = new SessionCookie({ secrets: config.session.secrets, name: config.session.cookie_name, secure: false, maxAgeMs: config.session.ttl });
  // never started: no session here needs a refresh
  const provider = new Provider(providerOptions(config, routeUrlsOf(config)), { logger, readiness: new Readiness() });
  const sessions = new Sessions({ ...sessionsOptions(config), now: clock }, store, cookie, provider, undefined, { logger });
  const verifier = new CountingVerifier(T0 + HOUR);
  const bearer = new BearerTokens(config, { verifier, now: clock, logger });
  const gate = new Gate(
    {
      policy: new AccessPolicy(config),
      localLogin: config.local_login,
      corsPreflight: config.cors_preflight,
      urls: routeUrlsOf(config),
      bearer: config.bearer.enabled,
      accessContact: config.roles.access_contact,
      branding: brandingOf(config.pages),
    },
    new Authenticator(sessions, bearer),
  );
  const signIn = async (sub: string, roles: string[]): Promise<string> => {
    const { cookieValue } = await sessions.create({ claims: { sub, email: `${sub}@example.test`, roles }, idToken: 'id-token', expiresAt: now + HOUR });
    return cookieValue;
  };
  return { gate, verifier, cookieName: cookie.name, signIn, advance: (ms: number) => (now += ms) };
}

interface Sent {
  ctx: RequestContext;
  /** What the gate wrote, as it would go on the wire: status and lower-cased headers; undefined when nothing was. */
  answer(): Promise<{ status: number; headers: Record<string, string> } | undefined>;
}

function request(path: string, options: { method?: string; headers?: Record<string, string>; cookies?: Record<string, string> } = {}): Sent {
  const req = new IncomingMessage(new Socket());
  req.method = options.method ?? 'GET';
  req.url = path;
  req.headers = { ...options.headers };
  const res = new ServerResponse(req);
  const wire = new PassThrough();
  let written = '';
  wire.on('data', (chunk: Buffer) => (written += chunk.toString('latin1')));
  res.assignSocket(wire as unknown as Socket);
  const cookies = options.cookies ?? {};
  const answer = async (): ReturnType<Sent['answer']> => {
    // node:http writes the corked head and body on the next tick
    await new Promise((resolve) => setImmediate(resolve));
    if (written === '') return undefined;
    const [statusLine = '', ...lines] = written.slice(0, written.indexOf('\r\n\r\n')).split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    return { status: Number(statusLine.split(' ')[1]), headers };
  };
  return { ctx: { req, res, requestId: 'req-1', path, cookies: () => cookies }, answer };
}

const forward = (identity: readonly string[]) => ({ kind: 'forward', identity });
const ANSWERED = { kind: 'answered' };

describe('Gate.admit', () => {
  it('an anonymous path forwards without identity, synchronously; with a session, with its identity', async () => {
    const { gate, signIn, cookieName } = setup();
    const anonymous = request('/public/page');
    expect(gate.admit(anonymous.ctx)).toEqual(forward([]));
    const session = await signIn('alice', ['admin']);
    const signedIn = request('/public/page', { cookies: { [cookieName]: session } });
    expect(gate.admit(signedIn.ctx)).toEqual(forward(['x-forwarded-user', 'alice', 'x-forwarded-email', 'alice@example.test', 'x-forwarded-roles', 'admin']));
    expect(await signedIn.answer()).toBeUndefined();
  });

  it('a signed-in user is forwarded with identity headers, synchronously on the hot path; a rule they meet lets them in', async () => {
    const { gate, signIn, cookieName } = setup();
    const cookies = { [cookieName]: await signIn('alice', ['admin']) };
    const admission = gate.admit(request('/dashboard', { headers: HTML, cookies }).ctx);
    expect(isPromise(admission)).toBe(false);
    expect(admission).toMatchObject({
      kind: 'forward',
      identity: ['x-forwarded-user', 'alice', 'x-forwarded-email', 'alice@example.test', 'x-forwarded-roles', 'admin'],
    });
    expect(gate.admit(request('/admin/users', { headers: JSON_API, cookies }).ctx)).toMatchObject({ kind: 'forward' });
  });

  it('a rule the user does not meet: 403 JSON for an API call, the no-access page for a navigation', async () => {
    const { gate, signIn, cookieName } = setup();
    const cookies = { [cookieName]: await signIn('bob', ['viewer']) };
    const api = request('/admin/users', { headers: JSON_API, cookies });
    expect(gate.admit(api.ctx)).toEqual(ANSWERED);
    expect(await api.answer()).toMatchObject({ status: 403, headers: { 'content-type': 'application/json' } });
    const page = request('/admin/users', { headers: HTML, cookies });
    expect(gate.admit(page.ctx)).toEqual(ANSWERED);
    expect(await page.answer()).toMatchObject({ status: 403, headers: { 'content-type': expect.stringMatching(/^text\/html/) } });
  });

  it('without a session: a navigation goes to the sign-on page, an API call gets 401 naming both schemes', async () => {
    const { gate } = setup();
    const page = request('/dashboard?tab=1', { headers: HTML });
    expect(gate.admit(page.ctx)).toEqual(ANSWERED);
    expect(await page.answer()).toMatchObject({ status: 302, headers: { location: '/.auth/login?rd=%2Fdashboard%3Ftab%3D1' } });
    const api = request('/dashboard', { headers: JSON_API });
    expect(gate.admit(api.ctx)).toEqual(ANSWERED);
    expect(await api.answer()).toMatchObject({
      status: 401,
      headers: { 'www-authenticate': 'Session realm="gatehouse", login_url="/.auth/login", Bearer realm="gatehouse"' },
    });
  });

  it('a session past session.ttl on the clock is no session: the navigation goes to sign on (no sleep)', async () => {
    const { gate, signIn, cookieName, advance } = setup({ session: { secrets: ['gate-unit-test-session-secret-0123456789'], ttl: '2h', idle_timeout: '3h' } });
    const cookies = { [cookieName]: await signIn('alice', ['admin']) };
    advance(2 * HOUR - 1);
    expect(gate.admit(request('/dashboard', { headers: HTML, cookies }).ctx)).toMatchObject({ kind: 'forward' });
    advance(1);
    const expired = request('/dashboard', { headers: HTML, cookies });
    expect(await gate.admit(expired.ctx)).toEqual(ANSWERED);
    expect(await expired.answer()).toMatchObject({ status: 302 });
  });

  it("local_login paths, the app's own session cookie and (with cors_preflight pass) a CORS preflight pass without SSO and without identity", async () => {
    const { gate } = setup({ local_login: { enabled: true, paths: ['/app-login'], session_cookie: 'app_session' }, cors_preflight: 'pass' });
    expect(gate.admit(request('/app-login', { headers: HTML }).ctx)).toEqual(forward([]));
    expect(gate.admit(request('/dashboard', { headers: HTML, cookies: { app_session: 'x' } }).ctx)).toEqual(forward([]));
    const preflight = request('/api/items', { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:3000', 'access-control-request-method': 'POST' } });
    expect(gate.admit(preflight.ctx)).toEqual(forward([]));
    const plainOptions = request('/api/items', { method: 'OPTIONS', headers: JSON_API });
    expect(gate.admit(plainOptions.ctx)).toEqual(ANSWERED);
    expect(await plainOptions.answer()).toMatchObject({ status: 401 });
  });
});

describe('Gate.admit with a bearer token', () => {
  const bearer = (token: string, headers: Record<string, string> = JSON_API) => ({ headers: { ...headers, authorization: `Bearer ${token}` } });

  it('a new token is checked, then answered from the cache synchronously for bearer.cache_ttl on the clock', async () => {
    const { gate, verifier, advance } = setup();
    const first = gate.admit(request('/reports', bearer('tok-1')).ctx);
    expect(isPromise(first)).toBe(true);
    expect(await first).toMatchObject({ kind: 'forward', identity: ['x-forwarded-user', 'svc-tok-1', 'x-forwarded-roles', 'reader'] });
    advance(59_999);
    expect(gate.admit(request('/reports', bearer('tok-1')).ctx)).toMatchObject({ kind: 'forward' });
    expect(verifier.calls).toBe(1);
    advance(1);
    await gate.admit(request('/reports', bearer('tok-1')).ctx);
    expect(verifier.calls).toBe(2);
  });

  it('a bad token is 401 invalid_token, never a redirect; a token the rule refuses is 403 JSON, even for a navigation', async () => {
    const { gate } = setup();
    const bad = request('/reports', bearer('bad-1', HTML));
    expect(await gate.admit(bad.ctx)).toEqual(ANSWERED);
    expect(await bad.answer()).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer realm="gatehouse", error="invalid_token"' } });
    const refused = request('/admin/users', bearer('tok-2', HTML));
    expect(await gate.admit(refused.ctx)).toEqual(ANSWERED);
    expect(await refused.answer()).toMatchObject({ status: 403, headers: { 'content-type': 'application/json' } });
    expect(await gate.admit(request('/admin/users', bearer('tok-admin')).ctx)).toMatchObject({ kind: 'forward' });
  });
});

describe('Gate.admitUpgrade', () => {
  const upgrade = (path: string, cookies: Record<string, string> = {}) =>
    request(path, { headers: { upgrade: 'websocket', connection: 'Upgrade' }, cookies }).ctx;

  it('forwards with identity, refuses 401 without a session and 403 when a rule refuses; never answers the socket itself', async () => {
    const { gate, signIn, cookieName } = setup();
    const viewer = { [cookieName]: await signIn('bob', ['viewer']) };
    const expectations: Array<[ReturnType<typeof upgrade>, UpgradeAdmission]> = [
      [upgrade('/public/feed'), forward([]) as UpgradeAdmission],
      [upgrade('/live'), { kind: 'refuse', status: 401 }],
      [upgrade('/admin/live', viewer), { kind: 'refuse', status: 403 }],
    ];
    for (const [ctx, expected] of expectations) expect(gate.admitUpgrade(ctx)).toEqual(expected);
    expect(gate.admitUpgrade(upgrade('/live', viewer))).toMatchObject({
      kind: 'forward',
      identity: ['x-forwarded-user', 'bob', 'x-forwarded-email', 'bob@example.test', 'x-forwarded-roles', 'viewer'],
    });
  });
});

// The admission kinds each entry point can return, checked by the compiler.
const requestKinds: Array<RequestAdmission['kind']> = ['forward', 'answered'];
const upgradeKinds: Array<UpgradeAdmission['kind']> = ['forward', 'refuse'];
void requestKinds;
void upgradeKinds;
