// SIGHUP / reload: a changed config applies without dropping connections or sessions; an invalid one is refused.
import { writeFileSync } from 'node:fs';
import { request } from 'undici';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { BrowserClient } from '../helpers/browser-client.js';
import { merge, SESSION_SECRET, startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { startChildGatehouse, type ChildGatehouse } from '../helpers/gatehouse-process.js';
import { eventually, headerValues, startUpstream, type RecordingUpstream } from '../helpers/upstream.js';

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

  it('applies a new upstream on SIGHUP, keeps an open keep-alive connection working, and refuses an invalid file', async () => {
    first = await startUpstream((_req, res) => res.end('first'));
    second = await startUpstream((_req, res) => res.end('second'));
    cleanups.push(() => first.close(), () => second.close());
    child = await startChildGatehouse(tree(first.url));
    cleanups.push(() => child.dispose());
    expect(await bodyOf(`${child.url}/x`)).toBe('first');

    writeFileSync(child.configPath, stringify(tree(second.url)));
    child.child.kill('SIGHUP');
    await eventually(() => child.logs.some((line) => line.msg === 'config reloaded'), 5_000);
    expect(await bodyOf(`${child.url}/x`)).toBe('second');

    writeFileSync(child.configPath, 'mode: local\nlisten: { port: "not a port" }\nbogus: 1\n');
    child.child.kill('SIGHUP');
    await eventually(() => child.stderr().includes('bogus: unknown key'), 5_000);
    expect(child.stderr()).toContain('gatehouse: config error: listen.port: Invalid input: expected number, received string');
    expect(child.stderr()).toContain('gatehouse: config error: bogus: unknown key');
    expect(child.logs.some((line) => line.msg === 'config reload refused; the running config stays in force')).toBe(true);
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
    await eventually(() => child.stderr().includes('ops: cannot change while running'), 5_000);
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
    const rotated = validateConfig(tree({ session: { ...baseSession, secrets: ['a-brand-new-session-secret-0123456789abcdef', SESSION_SECRET] }, pages: { title: 'Reloaded' } }));
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
