// SIGHUP / reload: a changed config applies without dropping connections or sessions; an invalid one is refused.
import type { JsonWebKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, createServer, get as httpGet, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { importJWK, SignJWT, type JWK } from 'jose';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { startDevProvider } from '../../demo/dev-provider.js';
import { CLIENT_ID, CLIENT_SECRET, devClient, merge, SESSION_SECRET, startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { signInAtProvider } from '../helpers/dev-provider-flow.js';
import { sendRequest, startChildGatehouse, temporaryYamlFiles, type ChildGatehouse } from '../helpers/gatehouse-process.js';
import { generatedKeys } from '../helpers/keys.js';
import { freePort } from '../helpers/ports.js';
import { apiWith } from '../helpers/session-requests.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function bodyOf(url: string): Promise<string> {
  const response = await request(url);
  return response.body.text();
}

describe('SIGHUP reload (child process, local mode)', () => {
  let child: ChildGatehouse;
  let first: RecordingUpstream;
  let second: RecordingUpstream;

  const tree = (upstreamUrl: string): Record<string, unknown> => ({
    mode: 'local',
    listen: { host: '127.0.0.1', port: 0 },
    ops: { host: '127.0.0.1', port: 0 },
    upstream: { url: upstreamUrl },
  });

  it('applies a new upstream on SIGHUP, finishes an in-flight request and keeps the keep-alive connection, and refuses an invalid file', async () => {
    first = await startUpstream((req, res) => {
      if (req.url === '/slow') setTimeout(() => res.end('first, slow'), 400);
      else res.end('first');
    });
    second = await startUpstream((_req, res) => res.end('second'));
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    child = await startChildGatehouse(tree(first.url));
    cleanups.push(() => child.dispose());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    const get = (path: string, via?: Agent): Promise<{ body: string; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const req = httpGet(`${child.url}${path}`, { agent: via ?? false }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          res.once('end', () => resolve({ body, reused: req.reusedSocket }));
        });
        req.once('error', reject);
      });
    expect(await get('/x', agent)).toEqual({ body: 'first', reused: false });

    const inFlight = get('/slow');
    await first.nthRequest(2);
    writeFileSync(child.configPath, stringify(tree(second.url)));
    child.child.kill('SIGHUP');
    await waitFor(() => child.logs.some((line) => line.msg === 'config reloaded'), { timeoutMs: 5_000 });
    expect((await inFlight).body).toBe('first, slow');
    // the same client connection, now forwarded to the new upstream
    expect(await get('/x', agent)).toEqual({ body: 'second', reused: true });

    writeFileSync(child.configPath, 'mode: local\nlisten: { port: "not a port" }\nbogus: 1\n');
    child.child.kill('SIGHUP');
    await waitFor(() => child.stderr().includes('bogus: unknown key'), { timeoutMs: 5_000 });
    expect(child.stderr()).toContain('gatehouse: config error: listen.port: Invalid input: expected number, received string');
    expect(child.stderr()).toContain('gatehouse: config error: bogus: unknown key');
    // stderr and the stdout log line arrive on separate pipes, in either order
    await waitFor(() => child.logs.some((line) => line.msg === 'config reload refused; the running config stays in force'), { timeoutMs: 5_000 });
    expect(await bodyOf(`${child.url}/x`)).toBe('second');
    expect(child.child.exitCode).toBeNull();
  });

  it('refuses a change that needs a restart and keeps serving', async () => {
    first = await startUpstream((_req, res) => res.end('first'));
    cleanups.push(() => first.close());
    child = await startChildGatehouse(tree(first.url));
    cleanups.push(() => child.dispose());
    writeFileSync(child.configPath, stringify({ ...tree(first.url), ops: { host: '127.0.0.1', port: 1 } }));
    child.child.kill('SIGHUP');
    await waitFor(() => child.stderr().includes('ops: cannot change while running'), { timeoutMs: 5_000 });
    expect(child.stderr()).toBe('gatehouse: config error: ops: cannot change while running (restart gatehouse to apply it)\n');
    expect(await bodyOf(`${child.url}/x`)).toBe('first');
  });
});

describe('reload in cloud mode', () => {
  let stack: CloudStack;

  it('keeps signed-in users signed in across a secret rotation and applies the new settings; a generated assertion key stays', async () => {
    stack = await startCloudStack();
    cleanups.push(() => stack.close());
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice', 'authorize');
    const before = await client.navigate(`${stack.url}/after`);
    expect(before.status).toBe(200);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-roles')).toEqual(['admin']);

    const tree = (changes: Record<string, unknown>): Record<string, unknown> => merge(stack.tree, changes);
    const baseSession = stack.tree.session as Record<string, unknown>;
    const rotated = validateConfig(
      tree({ session: { ...baseSession, secrets: ['a-brand-new-session-secret-0123456789abcdef', SESSION_SECRET] }, pages: { title: 'Reloaded' } }),
    );
    const jwks = async () => (await fetch(`${stack.url}/.auth/jwks.json`)).json() as Promise<{ keys: Array<{ kid: string }> }>;
    const keysBefore = await jwks();
    expect(keysBefore.keys).toHaveLength(1);
    await stack.gatehouse.reload(rotated);
    // no key configured: the one generated at start stays, so assertions the app already holds keep verifying
    expect(await jwks()).toEqual(keysBefore);
    const after = await client.navigate(`${stack.url}/after-reload`);
    expect(after.status).toBe(200);
    expect(stack.upstream.requests.at(-1)?.url).toBe('/after-reload');
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['alice']);
    const signOn = await new BrowserClient().follow(`${stack.url}/`);
    expect(signOn.final.body).toContain('Reloaded');

    const invalid = validateConfig(tree({ listen: { host: '127.0.0.1', port: 1 } }));
    await expect(stack.gatehouse.reload(invalid)).rejects.toBeInstanceOf(ConfigError);
    expect((await client.navigate(`${stack.url}/still`)).status).toBe(200);
  });
});

describe('a request admitted before a reload', () => {
  const API = 'https://api.test/reload';
  const signingKey: JsonWebKey = {
    ...generatedKeys('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }),
    kid: 'reload-key',
    alg: 'RS256',
    use: 'sig',
  };

  /** A roles.url endpoint whose answers wait while `held`: the admission of a first-seen bearer token waits on it. */
  async function startHeldRoles(): Promise<{ url: string; asked: () => number; hold(): void; release(): void; close(): Promise<void> }> {
    let held = false;
    let asked = 0;
    const waiting: ServerResponse[] = [];
    const answer = (res: ServerResponse): void => void res.writeHead(200, { 'content-type': 'application/json' }).end('["reader"]');
    const server = createServer((_req, res) => {
      asked++;
      if (held) waiting.push(res);
      else answer(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/roles`,
      asked: () => asked,
      hold: () => void (held = true),
      release: () => {
        held = false;
        for (const res of waiting.splice(0)) answer(res);
      },
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  /** The upgrades a recording app accepted (a WebSocket server on its HTTP server), for the admission of an upgrade. */
  function acceptUpgrades(app: RecordingUpstream): IncomingMessage[] {
    const upgrades: IncomingMessage[] = [];
    const wss = new WebSocketServer({ server: app.server });
    wss.on('connection', (_socket, req) => upgrades.push(req));
    cleanups.push(() => new Promise((resolve) => wss.close(resolve)));
    return upgrades;
  }

  function openSocket(url: string, token: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
      socket.once('open', () => resolve(socket)).once('error', reject);
    });
  }

  it('is forwarded under the config it was admitted with, though its admission finished after the reload (a request and an upgrade); the next ones get the new one', async () => {
    const port = await freePort();
    const provider = await startDevProvider({ port: await freePort(), clients: [devClient(`http://127.0.0.1:${port}`)], jwks: { keys: [signingKey] } });
    const roles = await startHeldRoles();
    const [oldApp, newApp] = [await startUpstream(), await startUpstream()];
    cleanups.push(
      () => provider.close(),
      () => roles.close(),
      () => oldApp.close(),
      () => newApp.close(),
    );
    const [oldUpgrades, newUpgrades] = [acceptUpgrades(oldApp), acceptUpgrades(newApp)];
    const stack = await startCloudStack({
      provider,
      port,
      upstream: oldApp,
      config: { bearer: { enabled: true, audiences: [API] }, roles: { source: 'url', url: roles.url } },
    });
    cleanups.push(() => stack.close());
    const key = await importJWK(signingKey as JWK, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    // each token is new to gatehouse, so its admission asks roles.url
    const tokenOf = (sub: string): Promise<string> =>
      new SignJWT({ iss: provider.issuer, sub, aud: API, iat: now, exp: now + 300 })
        .setProtectedHeader({ alg: 'RS256', kid: 'reload-key', typ: 'at+jwt' })
        .sign(key);
    const api = async (path: string, sub: string) =>
      sendRequest(`${stack.url}${path}`, { headers: { accept: 'application/json', authorization: `Bearer ${await tokenOf(sub)}` } });
    const live = async (path: string, sub: string) => openSocket(`${stack.url.replace('http:', 'ws:')}${path}`, await tokenOf(sub));

    roles.hold();
    const admittedBefore = api('/admitted-before', 'svc-before');
    const upgradedBefore = live('/live-before', 'ws-before');
    await waitFor(() => roles.asked() === 2, { timeoutMs: 5_000 });
    await stack.gatehouse.reload(validateConfig(merge(stack.tree, { upstream: { url: newApp.url }, identity: { headers: { user: 'X-Reloaded-User' } } })));
    roles.release();

    expect((await admittedBefore).status).toBe(200);
    (await upgradedBefore).close();
    expect(oldApp.requests.map((r) => r.url)).toEqual(['/admitted-before']);
    expect(headerValues(oldApp.requests[0]?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['svc-before']);
    expect(headerValues(oldApp.requests[0]?.rawHeaders ?? [], 'x-reloaded-user')).toEqual([]);
    expect(oldUpgrades.map((req) => [req.url, req.headers['x-forwarded-user'], req.headers['x-reloaded-user']])).toEqual([
      ['/live-before', 'ws-before', undefined],
    ]);

    expect((await api('/admitted-after', 'svc-after')).status).toBe(200);
    (await live('/live-after', 'ws-after')).close();
    expect(newApp.requests.map((r) => r.url)).toEqual(['/admitted-after']);
    expect(headerValues(newApp.requests[0]?.rawHeaders ?? [], 'x-reloaded-user')).toEqual(['svc-after']);
    expect(headerValues(newApp.requests[0]?.rawHeaders ?? [], 'x-forwarded-user')).toEqual([]);
    expect(newUpgrades.map((req) => [req.url, req.headers['x-reloaded-user'], req.headers['x-forwarded-user']])).toEqual([
      ['/live-after', 'ws-after', undefined],
    ]);
    // the old pool closes once its last request is done (sooner than its 4 s keep-alive would end the connection)
    await waitFor(() => oldApp.openConnections() === 0, { timeoutMs: 2_000 });
  });
});

describe('reload with provider settings the provider does not answer', () => {
  it('is refused before anything changes: the running client keeps signing users in and /readyz stays 200', async () => {
    const stack = await startCloudStack();
    cleanups.push(() => stack.close());
    const unreachable = validateConfig(
      merge(stack.tree, { sso: { ...(stack.tree.sso as Record<string, unknown>), issuer: `http://127.0.0.1:${await freePort()}` } }),
    );
    const refusal = stack.gatehouse.reload(unreachable);
    await expect(refusal).rejects.toBeInstanceOf(ConfigError);
    await expect(refusal).rejects.toMatchObject({
      problems: [expect.stringMatching(/^sso: provider discovery failed: .+ \(new settings refused, the running provider client stays\)$/)],
    });
    expect(stack.gatehouse.readiness.reasons()).toEqual({});
    expect((await fetch(`${stack.gatehouse.opsUrl}/readyz`)).status).toBe(200);
    const { landed } = await stack.signIn(new BrowserClient(), '/still-signing-in', 'carol');
    expect(landed.status).toBe(200);
    expect(headerValues(stack.upstream.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);
  });
});

describe('SIGHUP reload (child process, cloud mode): secrets from *_FILE files', () => {
  const NEW_SECRET = 'a-rotated-session-secret-0123456789abcdefgh';

  it('re-reads the mounted secret files: a session secret rotation keeps users signed in, a wrong client secret shows at the next sign-in', async () => {
    const files = temporaryYamlFiles('gatehouse-secrets-');
    cleanups.push(async () => files.remove());
    const sessionSecrets = join(files.dir, 'session-secrets');
    const clientSecret = join(files.dir, 'client-secret');
    writeFileSync(sessionSecrets, `${SESSION_SECRET}\n`);
    writeFileSync(clientSecret, `${CLIENT_SECRET}\n`);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const provider = await startDevProvider({ port: await freePort(), clients: [devClient(url)] });
    cleanups.push(() => provider.close());
    const app = await startUpstream();
    cleanups.push(() => app.close());
    const child = await startChildGatehouse(
      {
        mode: 'cloud',
        listen: { host: '127.0.0.1', port },
        ops: { host: '127.0.0.1', port: 0 },
        public_url: url,
        upstream: { url: app.url },
        sso: { issuer: provider.issuer, client_id: CLIENT_ID, scopes: ['openid', 'profile', 'email', 'roles', 'offline_access'] },
      },
      { env: { GATEHOUSE_SESSION_SECRETS_FILE: sessionSecrets, GATEHOUSE_SSO_CLIENT_SECRET_FILE: clientSecret } },
    );
    cleanups.push(() => child.dispose());
    await waitFor(async () => (await fetch(`${child.opsUrl}/readyz`)).status === 200, { timeoutMs: 10_000, intervalMs: 50 });

    const signIn = async (user: string): Promise<{ status: number; cookie: string }> => {
      const client = new BrowserClient();
      const toProvider = await client.follow(`${url}/.auth/start?rd=%2F&interactive=1`, {}, { stopAt: (next) => next.origin !== url });
      const page = await client.follow(toProvider.final.location as string);
      const atProvider = await signInAtProvider(client, page.final, { login: user }, 'skip-if-absent');
      const landed = await client.navigate(atProvider.final.location as string);
      const cookie = `gatehouse_session=${client.cookie(url, 'gatehouse_session') ?? ''}`;
      await client.close();
      return { status: landed.status, cookie };
    };
    const reloadWith = async (file: string, text: string): Promise<void> => {
      const reloads = child.logs.filter((line) => line.msg === 'config reloaded').length;
      writeFileSync(file, text);
      child.child.kill('SIGHUP');
      await waitFor(() => child.logs.filter((line) => line.msg === 'config reloaded').length === reloads + 1, { timeoutMs: 10_000 });
    };

    const before = await signIn('alice');
    expect(before.status).toBe(302);
    expect((await apiWith(`${url}/api/a`, before.cookie)).status).toBe(200);

    // rotation step 1: the new secret first, the old one still verifies
    await reloadWith(sessionSecrets, `${NEW_SECRET}\n${SESSION_SECRET}\n`);
    expect((await apiWith(`${url}/api/b`, before.cookie)).status).toBe(200);
    const after = await signIn('carol');
    expect(after.status).toBe(302);
    // step 2: the old secret removed; sessions made under it end, the new one's continue
    await reloadWith(sessionSecrets, `${NEW_SECRET}\n`);
    expect((await apiWith(`${url}/api/c`, before.cookie)).status).toBe(401);
    expect((await apiWith(`${url}/api/d`, after.cookie)).status).toBe(200);
    expect(headerValues(app.requests.at(-1)?.rawHeaders ?? [], 'x-forwarded-user')).toEqual(['carol']);

    // the client secret file is re-read too: a wrong one is refused by the provider at the next sign-in
    await reloadWith(clientSecret, 'not-the-registered-secret\n');
    await waitFor(async () => (await fetch(`${child.opsUrl}/readyz`)).status === 200, { timeoutMs: 10_000, intervalMs: 50 });
    expect((await signIn('alice')).status).toBe(502);
    await reloadWith(clientSecret, `${CLIENT_SECRET}\n`);
    await waitFor(async () => (await fetch(`${child.opsUrl}/readyz`)).status === 200, { timeoutMs: 10_000, intervalMs: 50 });
    expect((await signIn('alice')).status).toBe(302);
    expect(child.stderr()).toBe('');
  });
});
