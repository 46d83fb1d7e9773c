// Runs the Node example of docs/app-developers.md (docs/examples/verify-assertion.mjs) as the app behind a live gatehouse.
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

interface ExampleUser {
  sub: string;
  email?: string;
  username?: string;
  name?: string;
  roles: string[];
}

interface DocsExample {
  userFromHeaders(headers: IncomingHttpHeaders): ExampleUser | undefined;
  assertionVerifier(options: { jwksUrl: string; issuer: string; audience: string }): (headers: IncomingHttpHeaders) => Promise<ExampleUser>;
}

// A computed specifier: the example is plain JavaScript, typed here by DocsExample.
const EXAMPLE = new URL('../../../docs/examples/verify-assertion.mjs', import.meta.url).href;
const PAGE = readFileSync(new URL('../../../docs/app-developers.md', import.meta.url), 'utf8');

describe('docs/app-developers.md example: reading the headers and verifying the assertion (Node, jose)', () => {
  let example: DocsExample;
  let app: RecordingUpstream;
  let stack: CloudStack;
  let verifiedUser: ((headers: IncomingHttpHeaders) => Promise<ExampleUser>) | undefined;

  beforeAll(async () => {
    example = (await import(EXAMPLE)) as DocsExample;
    app = await startUpstream((req, res) => {
      const fromHeaders = example.userFromHeaders(req.headers);
      const verify = verifiedUser ?? (() => Promise.reject(new Error('verifier not configured')));
      verify(req.headers).then(
        (verified) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ fromHeaders: fromHeaders ?? null, verified })),
        (error: Error) =>
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ fromHeaders: fromHeaders ?? null, error: error.message })),
      );
    });
    stack = await startCloudStack({ upstream: app, config: { public_paths: ['/public/'], roles: { map: { user: ['reader', 'team,lead'] } } } });
    verifiedUser = example.assertionVerifier({ jwksUrl: `${stack.url}/.auth/jwks.json`, issuer: stack.url, audience: app.url });
  });
  afterAll(async () => {
    await stack?.close();
    await app?.close();
  });

  it('a signed-in user: the headers decode to the identity, and the assertion verifies to the same one', async () => {
    const client = new BrowserClient();
    const { landed } = await stack.signIn(client, '/whoami', 'carol');
    expect(landed.status).toBe(200);
    const carol = { sub: 'carol', email: 'carol@example.test', username: 'carol', name: 'Carol Ångström', roles: ['reader', 'team,lead'] };
    expect(JSON.parse(landed.body)).toEqual({ fromHeaders: carol, verified: carol });
    await client.close();
  });

  it('a request without a session (public path): no user from the headers, the verifier refuses', async () => {
    const res = await fetch(`${stack.url}/public/whoami`, { headers: { 'x-forwarded-user': 'alice', 'x-gatehouse-assertion': 'eyJhbGciOiJub25lIn0.e30.' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ fromHeaders: null, error: 'no identity assertion: the request did not come through gatehouse' });
  });

  it('the verifier refuses an assertion meant for another app', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    const token = app.requests.at(-1)?.req.headers['x-gatehouse-assertion'];
    expect(typeof token).toBe('string');
    const otherApp = example.assertionVerifier({ jwksUrl: `${stack.url}/.auth/jwks.json`, issuer: stack.url, audience: 'http://other-app.test' });
    await expect(otherApp({ 'x-gatehouse-assertion': token })).rejects.toThrow('unexpected "aud" claim value');
    await client.close();
  });

  it('docs/app-developers.md quotes the example file verbatim', () => {
    const source = readFileSync(new URL(EXAMPLE), 'utf8');
    expect(PAGE).toContain(`\`\`\`js\n${source}\`\`\``);
  });
});
