// The embedded default: config/demo.yaml on free ports (startDemoStack), signing in as alice (admin) and bob (no
// role, roles.required), and `npm start` (dist/demo/main.js) starting and stopping without a warning.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startDemoStack, type DemoStack } from '../../../demo/stack.js';
import { BrowserClient, type BrowserResponse } from '../../helpers/browser-client.js';
import { freePort } from '../../helpers/ports.js';
import { parseLinks, signInAtProvider } from '../../helpers/dev-provider-flow.js';
import { REPO_ROOT, type LogLine } from '../../helpers/gatehouse-process.js';

// stack.ts resolves DEMO_CONFIG_PATH for its built location (dist/demo), so name the file from the repo root.
const DEMO_CONFIG = join(REPO_ROOT, 'config', 'demo.yaml');

describe('demo stack (config/demo.yaml)', () => {
  let demo: DemoStack;
  let url: string;
  let issuer: string;

  beforeAll(async () => {
    const [port, providerPort, appPort] = await Promise.all([freePort(), freePort(), freePort()]);
    url = `http://127.0.0.1:${port}`;
    issuer = `http://127.0.0.1:${providerPort}`;
    demo = await startDemoStack({
      configPath: DEMO_CONFIG,
      adjust: (config) => ({
        ...config,
        listen: { ...config.listen, port },
        ops: { ...config.ops, port: 0 },
        public_url: url,
        upstream: { ...config.upstream, url: `http://127.0.0.1:${appPort}` },
        sso: { ...config.sso, issuer },
        log: { ...config.log, level: 'error' },
      }),
    });
  });
  afterAll(async () => {
    await demo?.stop();
  });

  /** From the app's home page through the sign-on page and the provider's forms back to the home page. */
  async function signIn(client: BrowserClient, user: string): Promise<BrowserResponse> {
    const providerOrigin = new URL(issuer).origin;
    const signOn = await client.follow(`${url}/`);
    expect(signOn.final.status).toBe(200);
    const links = parseLinks(signOn.final.body, signOn.final.url);
    expect(links.map((link) => link.text)).toEqual(['Sign in with Demo provider', 'Use local account']);
    expect(links[1]?.href).toBe(`${url}/login.html`);
    const toProvider = await client.follow(links[0]?.href ?? '', {}, { stopAt: (next) => next.origin === providerOrigin });
    const page = await client.follow(toProvider.final.location ?? '');
    const done = await signInAtProvider(client, page.final, { login: user }, 'authorize');
    return (await client.follow(done.final.location ?? '')).final;
  }

  it('alice signs in with consent and the demo app shows her identity and roles', async () => {
    const landed = await signIn(new BrowserClient(), 'alice');
    expect(landed.status).toBe(200);
    expect(landed.url).toBe(`${url}/`);
    expect(landed.body).toContain('Signed in through gatehouse as <strong>Alice Example</strong>');
    expect(landed.body).toContain('<tr><th>X-Forwarded-User</th><td>alice</td></tr>');
    expect(landed.body).toContain('<tr><th>X-Forwarded-Email</th><td>alice@example.test</td></tr>');
    expect(landed.body).toContain('<tr><th>X-Forwarded-Roles</th><td>admin</td></tr>');
    expect(landed.body).toContain('<tr><th>X-Gatehouse-Assertion</th><td>present</td></tr>');
  });

  it('bob (no role) gets the no-access page naming the access contact', async () => {
    const landed = await signIn(new BrowserClient(), 'bob');
    expect(landed.status).toBe(403);
    expect(landed.body).toContain('<h1>You don&#39;t have access to this app</h1>');
    expect(landed.body).toContain('the demo admin (alice)');
    expect(parseLinks(landed.body, landed.url).map((link) => link.href)).toEqual([`${url}/.auth/logout`]);
  });
});

const DEMO_MAIN_JS = join(REPO_ROOT, 'dist/demo/main.js');

describe('npm start (the built demo entry, dist/demo/main.js)', () => {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts with no warning, logs "demo ready" once sign-in works, and exits 0 on SIGINT', async () => {
    const [port, providerPort, appPort, opsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const tree = parse(readFileSync(DEMO_CONFIG, 'utf8')) as Record<string, Record<string, unknown>>;
    tree.listen = { ...tree.listen, port };
    tree.ops = { ...tree.ops, port: opsPort };
    tree.public_url = `http://127.0.0.1:${port}` as unknown as Record<string, unknown>;
    tree.upstream = { ...tree.upstream, url: `http://127.0.0.1:${appPort}` };
    tree.sso = { ...tree.sso, issuer: `http://127.0.0.1:${providerPort}` };
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-demo-'));
    const configPath = join(dir, 'demo.yaml');
    writeFileSync(configPath, stringify(tree));

    const child = spawn(process.execPath, [DEMO_MAIN_JS, '--config', configPath], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('"msg":"demo ready')) resolve();
      });
      void exited.then((code) => reject(new Error(`demo exited with ${code} before it was ready: ${stderr}`)));
    });
    // the first click right after "demo ready" already reaches the provider
    const start = await fetch(`http://127.0.0.1:${port}/.auth/start?rd=%2F`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(start.status).toBe(302);
    expect(start.headers.get('location')?.startsWith(`http://127.0.0.1:${providerPort}/`)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${opsPort}/readyz`)).status).toBe(200);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    const lines = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogLine);
    expect(lines.some((line) => line.msg.startsWith('demo ready: open'))).toBe(true);
    expect(lines.filter((line) => Number(line.level) >= 40)).toEqual([]);
  });
});
