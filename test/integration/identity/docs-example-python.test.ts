// Runs the Python example of docs/app-developers.md (docs/examples/verify_assertion.py, PyJWT) on the headers a live gatehouse sent
// the app. Skipped with the reason when no Python 3 with PyJWT and its crypto extra is installed.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../../../docs/examples/', import.meta.url));
const EXAMPLE = readFileSync(new URL('verify_assertion.py', `file://${EXAMPLE_DIR}`), 'utf8');
const PAGE = readFileSync(new URL('../../../docs/app-developers.md', import.meta.url), 'utf8');

/** Reads {headers: [[name, value], ...], jwks_url, issuer, audience} and prints what the example makes of them. */
const HARNESS = `
import json, sys
from wsgiref.headers import Headers
sys.path.insert(0, sys.argv[1])
from verify_assertion import assertion_verifier, user_from_headers
given = json.load(sys.stdin)
headers = Headers([tuple(pair) for pair in given["headers"]])
out = {"fromHeaders": user_from_headers(headers)}
try:
    out["verified"] = assertion_verifier(given["jwks_url"], given["issuer"], given["audience"])(headers)
except Exception as error:
    out["error"] = type(error).__name__ + ": " + str(error)
print(json.dumps(out))
`;

function findPython(): string | undefined {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(candidate, ['-c', 'import jwt, cryptography; jwt.PyJWKClient'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

const python = findPython();
const TITLE = python
  ? 'docs/app-developers.md example: reading the headers and verifying the assertion (Python, PyJWT)'
  : 'docs/app-developers.md example (Python, PyJWT): SKIPPED, no python3 with PyJWT and cryptography (Debian: apt-get install python3-jwt)';

interface ExampleOutput {
  fromHeaders: Record<string, unknown> | null;
  verified?: Record<string, unknown>;
  error?: string;
}

describe.skipIf(!python)(TITLE, () => {
  let stack: CloudStack;

  beforeAll(async () => {
    stack = await startCloudStack({ config: { public_paths: ['/public/'], roles: { map: { user: ['reader', 'team,lead'] } } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Runs the example on the headers of the app's latest request, as gatehouse sent them (gatehouse serves its JWKS meanwhile). */
  function runExample(audience = stack.upstream.url): Promise<ExampleOutput> {
    const raw = stack.upstream.requests.at(-1)?.rawHeaders ?? [];
    const headers = raw.flatMap((name, i) => (i % 2 === 0 ? [[name, raw[i + 1]]] : []));
    const input = JSON.stringify({ headers, jwks_url: `${stack.url}/.auth/jwks.json`, issuer: stack.url, audience });
    return new Promise((resolve, reject) => {
      const child = execFile(python as string, ['-c', HARNESS, EXAMPLE_DIR], { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`python failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as ExampleOutput);
      });
      child.stdin?.end(input);
    });
  }

  it('a signed-in user: the headers decode to the identity, and the assertion verifies to the same one', async () => {
    const client = new BrowserClient();
    const { landed } = await stack.signIn(client, '/whoami', 'carol');
    expect(landed.status).toBe(200);
    const carol = { sub: 'carol', email: 'carol@example.test', username: 'carol', name: 'Carol Ångström', roles: ['reader', 'team,lead'] };
    expect(await runExample()).toEqual({ fromHeaders: carol, verified: carol });
    await client.close();
  });

  it('a request without a session (public path, spoofed headers): no user from the headers, the verifier refuses', async () => {
    const res = await fetch(`${stack.url}/public/whoami`, { headers: { 'x-forwarded-user': 'alice', 'x-gatehouse-assertion': 'eyJhbGciOiJub25lIn0.e30.' } });
    expect(res.status).toBe(200);
    expect(await runExample()).toEqual({ fromHeaders: null, error: 'PermissionError: no identity assertion: the request did not come through gatehouse' });
  });

  it('the verifier refuses an assertion meant for another app', async () => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    const out = await runExample('http://other-app.test');
    expect(out.verified).toBeUndefined();
    expect(out.error).toMatch(/^InvalidAudienceError: /);
    await client.close();
  });

  it('docs/app-developers.md quotes the example file verbatim', () => {
    expect(PAGE).toContain(`\`\`\`python\n${EXAMPLE}\`\`\``);
  });
});
