// One code path: `check-config` and `start` (the built CLI) refuse each broken config of this table with the same
// single line naming the key, exit 2, before anything listens; a secret never shows, even in a URL that does not parse.
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MAIN_JS, REPO_ROOT, temporaryYamlFiles, type CliResult } from '../../helpers/gatehouse-process.js';
import { generatedKeys } from '../../helpers/keys.js';

const yaml = temporaryYamlFiles('gatehouse-refusals-');
afterAll(yaml.remove);

type Tree = Record<string, unknown>;

const SECRET = 's'.repeat(40);
const REDIS_PASSWORD = 'pa/ss+w=rd@x';
const RSA_PEM = generatedKeys('rsa', { modulusLength: 2048 }).privatePem.trim();
const P384_PEM = generatedKeys('ec', { namedCurve: 'P-384' }).privatePem.trim();
const PUBLIC_PEM = generatedKeys('ec', { namedCurve: 'P-256' }).publicPem.trim();
const P256_PEM = generatedKeys('ec', { namedCurve: 'P-256' }).privatePem.trim();
const NOT_PEM = yaml.write('a CA certificate belongs here\n');
const PLACEHOLDER_PEM = '-----BEGIN PRIVATE KEY-----\nCHANGE-ME\n-----END PRIVATE KEY-----';
const PUBLIC_JWK = JSON.stringify({
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
});

/** A valid cloud config on loopback (the issuer is a closed port): each row breaks one thing. */
const BASE: Tree = {
  mode: 'cloud',
  listen: { host: '127.0.0.1', port: 0 },
  ops: { host: '127.0.0.1', port: 0 },
  public_url: 'http://127.0.0.1:8080',
  upstream: { url: 'http://127.0.0.1:3000' },
  sso: { issuer: 'http://127.0.0.1:9', client_id: 'app', client_secret: 'client-secret' },
  session: { secrets: [SECRET] },
};

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    const nested = current && typeof current === 'object' && !Array.isArray(current) && value && typeof value === 'object' && !Array.isArray(value);
    if (value === undefined) delete out[key];
    else out[key] = nested ? merge(current as Tree, value as Tree) : value;
  }
  return out;
}

interface Row {
  what: string;
  config?: Tree;
  env?: NodeJS.ProcessEnv;
  line: string;
}

const ROWS: Row[] = [
  {
    what: 'public_url without a scheme',
    config: { public_url: 'app.example.com' },
    line: 'public_url: must be an http(s) URL with a host, like https://app.example.com (got "app.example.com")',
  },
  {
    what: 'public_url with a path',
    config: { public_url: 'https://app.example.com/sub' },
    line: "public_url: must be an origin without a path, query or fragment, like https://app.example.com (serving the app under a path is not supported: gatehouse's routes and cookies live at the root of the host)",
  },
  {
    what: 'public_url with another scheme',
    config: { public_url: 'ftp://app.example.com' },
    line: 'public_url: must be an http(s) URL with a host, like https://app.example.com (got "ftp://app.example.com")',
  },
  {
    what: 'public_url with credentials',
    config: { public_url: 'https://user:pw@app.example.com' },
    line: 'public_url: must not carry a user name or password',
  },
  { what: 'upstream.url without a scheme', config: { upstream: { url: '127.0.0.1:3000' } }, line: 'upstream.url: must be an http(s) URL' },
  {
    what: 'an http issuer off loopback',
    config: { sso: { issuer: 'http://idp.example.com' } },
    line: 'sso.issuer: http:// is refused for idp.example.com: only https, or http on a loopback host (127.0.0.1, ::1, localhost) for development',
  },
  { what: 'an issuer that is not a URL', config: { sso: { issuer: 'idp.example.com' } }, line: 'sso.issuer: not a URL: "idp.example.com"' },
  {
    what: 'roles.url that is a path',
    config: { roles: { source: 'url', url: '/roles' } },
    line: 'roles.url: must be an http(s) URL with a host (got "/roles")',
  },
  {
    what: 'a CIDR with a prefix too long',
    config: { trust_proxy: ['10.0.0.0/33'] },
    line: 'trust_proxy.0: invalid range on address: 10.0.0.0/33 (expected an IP address, a CIDR like 10.0.0.0/8, or loopback, linklocal, uniquelocal)',
  },
  {
    what: 'a truncated IP address in trust_proxy',
    config: { trust_proxy: ['10.0.0.0/8', '10.1.2'] },
    line: 'trust_proxy.1: invalid IP address: 10.1.2 (expected an IP address, a CIDR like 10.0.0.0/8, or loopback, linklocal, uniquelocal)',
  },
  {
    what: 'the placeholder PEM of the Kubernetes Secret',
    config: { identity: { assertion: { keys: [PLACEHOLDER_PEM] } } },
    line: 'identity.assertion.keys.0: is not a readable unencrypted PEM private key (PKCS8 or SEC1)',
  },
  {
    what: 'an RSA PEM',
    config: { identity: { assertion: { keys: [RSA_PEM] } } },
    line: 'identity.assertion.keys.0: is an rsa key; ES256 needs an EC P-256 private key',
  },
  {
    what: 'an EC P-384 PEM',
    config: { identity: { assertion: { keys: [P384_PEM] } } },
    line: 'identity.assertion.keys.0: is an EC secp384r1 key; ES256 needs an EC P-256 private key',
  },
  {
    what: 'a public key PEM',
    config: { identity: { assertion: { keys: [PUBLIC_PEM] } } },
    line: 'identity.assertion.keys.0: is a public key or certificate: a private key is needed',
  },
  {
    what: 'a public JWK',
    config: { identity: { assertion: { keys: [PUBLIC_JWK] } } },
    line: 'identity.assertion.keys.0: is a JWK without "d": a private key is needed',
  },
  {
    what: 'a placeholder word as key',
    env: { GATEHOUSE_IDENTITY_ASSERTION_KEYS: 'CHANGE-ME' },
    line: 'identity.assertion.keys.0: is neither a PEM private key nor a JWK JSON object',
  },
  {
    what: 'a colour name',
    config: { pages: { accent_color: 'red' } },
    line: 'pages.accent_color: must be a hex colour like #1f6feb or #17b (got "red"; colour names are not supported)',
  },
  {
    what: 'a five-digit hex colour',
    config: { pages: { accent_color: '#12345' } },
    line: 'pages.accent_color: must be a hex colour like #1f6feb or #17b (got "#12345"; colour names are not supported)',
  },
  {
    what: 'a javascript: logo',
    config: { pages: { logo_url: 'javascript:alert(1)' } },
    line: 'pages.logo_url: must be an http(s) URL with a host (got "javascript:alert(1)")',
  },
  { what: 'a 500ms session ttl', config: { session: { ttl: '500ms' } }, line: 'session.ttl: must be at least 2s (got 500ms)' },
  { what: 'a 100ms idle timeout', config: { session: { idle_timeout: '100ms' } }, line: 'session.idle_timeout: must be at least 1s (got 100ms)' },
  { what: 'a 10ms provider timeout', config: { sso: { timeout: '10ms' } }, line: 'sso.timeout: must be at least 1s (got 10ms)' },
  { what: 'a 1s assertion ttl', config: { identity: { assertion: { ttl: '1s' } } }, line: 'identity.assertion.ttl: must be at least 2s (got 1s)' },
  { what: 'a duration that is a word', config: { session: { ttl: 'forever' } }, line: 'session.ttl: not a duration: "forever" (use e.g. 90s, 5m, 8h)' },
  {
    what: 'a Redis password with / + = @ in the URL',
    config: { session: { redis: { url: `redis://:${REDIS_PASSWORD}@redis:6379` } } },
    line: 'session.redis.url: not a valid redis:// or rediss:// URL: "redis://***@redis:6379" (a password with / ? # @ : or % must be percent-encoded in the URL; or set session.redis.password)',
  },
  {
    what: 'the same Redis URL from the environment',
    env: { GATEHOUSE_SESSION_REDIS_URL: `redis://:${REDIS_PASSWORD}@redis:6379` },
    line: 'session.redis.url: not a valid redis:// or rediss:// URL: "redis://***@redis:6379" (a password with / ? # @ : or % must be percent-encoded in the URL; or set session.redis.password)',
  },
  {
    what: 'an http:// Redis URL',
    config: { session: { redis: { url: 'http://redis:6379' } } },
    line: 'session.redis.url: must start with redis:// or rediss:// (got "http:")',
  },
  { what: 'a Redis URL without a host', config: { session: { redis: { url: 'redis:///0' } } }, line: 'session.redis.url: has no host: "redis:///0"' },
  {
    what: 'an unreadable Redis CA file',
    config: {
      session: { store: 'redis', redis: { url: 'rediss://127.0.0.1:1', tls: { ca_file: '/nonexistent/ca.pem' } } },
      identity: { assertion: { keys: [P256_PEM] } },
    },
    line: 'session.redis.tls.ca_file: cannot read /nonexistent/ca.pem (ENOENT)',
  },
  {
    what: 'a Redis CA file that is not PEM',
    config: { session: { store: 'redis', redis: { url: 'rediss://127.0.0.1:1', tls: { ca_file: NOT_PEM } } }, identity: { assertion: { keys: [P256_PEM] } } },
    line: `session.redis.tls.ca_file: ${NOT_PEM} holds no PEM block`,
  },
  { what: 'a public path without /', config: { public_paths: ['public/'] }, line: 'public_paths.0: "public/" must start with /' },
  {
    what: 'a local-login path with a query',
    config: { local_login: { enabled: true, paths: ['/login?next=/'] } },
    line: 'local_login.paths.0: "/login?next=/" must be a plain path: no ?, # or * (a prefix ends in /)',
  },
  {
    what: 'a host name to listen on',
    config: { listen: { host: 'app.example.com' } },
    line: 'listen.host: must be an IP address to listen on, like 0.0.0.0, 127.0.0.1 or :: (got "app.example.com")',
  },
  {
    what: 'the ops port equal to the proxy port',
    config: { listen: { port: 18080 }, ops: { port: 18080 } },
    line: 'ops.port: is listen.port too (18080): the ops listener needs a port of its own',
  },
  {
    what: 'a cookie name with a space',
    config: { session: { cookie_name: 'my session' } },
    line: "session.cookie_name: must be a valid cookie name (letters, digits and !#$%&'*+.^_`|~-)",
  },
  { what: 'a short session secret', config: { session: { secrets: ['short'] } }, line: 'session.secrets.0: must be at least 32 characters' },
  { what: 'a misspelt key', config: { sso: { issuer_url: 'https://idp.example.com' } }, line: 'sso.issuer_url: unknown key' },
  {
    what: 'a misspelt variable',
    env: { GATEHOUSE_SSO_ISSUER_URL: 'https://idp.example.com' },
    line: 'GATEHOUSE_SSO_ISSUER_URL: unknown environment variable; did you mean GATEHOUSE_SSO_ISSUER (sso.issuer)?',
  },
  {
    what: 'mode auto with an issuer and no client id',
    config: { mode: 'auto', sso: { client_id: undefined } },
    line: 'sso.client_id: required in cloud mode (mode auto is cloud: sso.issuer is set, sso.client_secret is set)',
  },
  {
    what: 'a variable that is not a number',
    env: { GATEHOUSE_LISTEN_PORT: 'eighty' },
    line: 'listen.port: GATEHOUSE_LISTEN_PORT="eighty" is not a valid number',
  },
];

/** Runs the built CLI; a command still running after 10 s (it did not refuse the config) is killed. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('check-config and start refuse the same broken configs with the same line', () => {
  it('has at least 30 rows', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(30);
  });

  it.each(ROWS)('$what', async ({ config, env = {}, line }) => {
    const path = yaml.write(stringify(merge(BASE, config ?? {})));
    const [checked, started] = await Promise.all([run(['check-config', '--config', path], env), run(['start', '--config', path], env)]);
    const expected = { code: 2, stdout: '', stderr: `gatehouse: config error: ${line}\n` };
    expect(checked).toEqual(expected);
    expect(started).toEqual(expected);
    expect(checked.stderr).not.toContain(REDIS_PASSWORD);
    expect(checked.stderr).not.toContain(SECRET);
  });

  it('the base config of the table is valid', async () => {
    const result = await run(['check-config', '--config', yaml.write(stringify(BASE))], {});
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith('\nconfig is valid\n')).toBe(true);
  });
});
