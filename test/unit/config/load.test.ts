// Config loading: YAML file, ${ENV} substitution, GATEHOUSE_* overrides, durations, and one problem line per mistake.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, maskSecrets, validateConfig } from '../../../src/config/load.js';
import { resolveMode, type Config } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';
import { generatedKeys } from '../../helpers/keys.js';
import { temporaryYamlFiles } from '../../helpers/gatehouse-process.js';

const yaml = temporaryYamlFiles('gatehouse-config-');
const writeYaml = yaml.write;
afterAll(yaml.remove);

function load(text: string, env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({ path: writeYaml(text), env }).config;
}

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) {
      expect(error.code).toBe('GH_CONFIG_INVALID');
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const SECRET_A = 'a'.repeat(32);
const SECRET_B = 'b'.repeat(40);
const P256 = () => generatedKeys('ec', { namedCurve: 'P-256' }).privateKey;
/** Real EC P-256 private keys: PKCS8 PEM, SEC1 PEM and JWK JSON. */
const PEM_A = P256().export({ type: 'pkcs8', format: 'pem' }).toString().trim();
const PEM_B = P256().export({ type: 'sec1', format: 'pem' }).toString().trim();
const JWK = JSON.stringify(P256().export({ format: 'jwk' }));

describe('loadConfig: the YAML file', () => {
  it('reads the file and fills every default from the schema', () => {
    const config = load('mode: local\nupstream:\n  url: http://127.0.0.1:4000\n');
    expect(config.mode).toBe('local');
    expect(config.upstream).toEqual({ url: 'http://127.0.0.1:4000', timeout_ms: 30000, connections: 128 });
    expect(config.listen).toMatchObject({ host: '0.0.0.0', port: 8080, max_header_size: 16384 });
    expect(config.session.ttl).toBe(8 * 3_600_000);
    expect(config.identity.headers.user).toBe('X-Forwarded-User');
    expect(config.shutdown.drain_timeout).toBe(10_000);
  });

  it('treats an empty file as all defaults', () => {
    const config = load('');
    expect(config.mode).toBe('auto');
    expect(resolveMode(config)).toBe('local');
  });

  it('reports an unreadable file (a directory, a missing explicit path)', () => {
    const folder = join(yaml.dir, 'a-directory');
    mkdirSync(folder);
    expect(problemsOf(() => loadConfig({ path: folder, env: {} }))).toEqual([`${folder}: cannot read the config file (EISDIR)`]);
    const missing = join(yaml.dir, 'missing.yaml');
    expect(problemsOf(() => loadConfig({ path: missing, env: {} }))).toEqual([`${missing}: cannot read the config file (ENOENT)`]);
  });

  it('reports a YAML syntax error with its line and column', () => {
    const path = writeYaml('mode: local\nlisten: {host: 127.0.0.1\nupstream:\n  url: x\n');
    expect(problemsOf(() => loadConfig({ path, env: {} }))).toEqual([
      `${path}:3:1: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }`,
    ]);
  });

  it('reports a duplicate key as a YAML error on the line of the second one', () => {
    const path = writeYaml('mode: local\nupstream:\n  url: http://a\n  url: http://b\n');
    expect(problemsOf(() => loadConfig({ path, env: {} }))).toEqual([`${path}:4:3: YAML syntax error: Map keys must be unique`]);
  });

  it('refuses a top level that is not a mapping', () => {
    const path = writeYaml('- a\n- b\n');
    expect(problemsOf(() => loadConfig({ path, env: {} }))).toEqual([`${path}: the top level must be a mapping of keys`]);
  });
});

describe('loadConfig: ${ENV} substitution', () => {
  it('replaces ${NAME} in strings and list items', () => {
    const config = load('mode: local\nsso:\n  client_secret: ${MY_SECRET}\nsession:\n  secrets: ["${S1}", "${S2}"]\n', {
      MY_SECRET: 'from-env',
      S1: SECRET_A,
      S2: SECRET_B,
    });
    expect(config.sso.client_secret).toBe('from-env');
    expect(config.session.secrets).toEqual([SECRET_A, SECRET_B]);
  });

  it('uses the fallback of ${NAME:-fallback} when NAME is unset or empty', () => {
    const yaml = 'mode: local\nupstream:\n  url: http://${APP_HOST:-127.0.0.1}:${APP_PORT:-3000}/\n';
    expect(load(yaml).upstream.url).toBe('http://127.0.0.1:3000/');
    expect(load(yaml, { APP_HOST: '', APP_PORT: '4100' }).upstream.url).toBe('http://127.0.0.1:4100/');
  });

  it('reports an unset variable without a fallback, naming the key', () => {
    expect(problemsOf(() => load('mode: local\nsso:\n  client_secret: ${NOT_SET}\nsession:\n  secrets: ["${ALSO_NOT_SET}"]\n'))).toEqual([
      'sso.client_secret: environment variable NOT_SET is not set',
      'session.secrets.0: environment variable ALSO_NOT_SET is not set',
    ]);
  });

  it('substitutes after parsing, so a value cannot inject YAML', () => {
    const config = load('mode: local\npages:\n  title: ${TITLE}\n', { TITLE: 'Acme\nmode: cloud' });
    expect(config.pages.title).toBe('Acme\nmode: cloud');
    expect(config.mode).toBe('local');
  });
});

describe('loadConfig: GATEHOUSE_* environment overrides', () => {
  it('GATEHOUSE_UPSTREAM_URL overrides upstream.url and GATEHOUSE_SSO_CLIENT_SECRET overrides sso.client_secret', () => {
    const config = load('mode: local\nupstream:\n  url: http://127.0.0.1:3000\nsso:\n  client_secret: from-file\n', {
      GATEHOUSE_UPSTREAM_URL: 'http://127.0.0.1:9999',
      GATEHOUSE_SSO_CLIENT_SECRET: 'from-env',
    });
    expect(config.upstream.url).toBe('http://127.0.0.1:9999');
    expect(config.sso.client_secret).toBe('from-env');
  });

  it('reads numbers, booleans, lists, maps and durations from strings', () => {
    const config = load('mode: local\n', {
      GATEHOUSE_LISTEN_PORT: '8181',
      GATEHOUSE_UPSTREAM_TIMEOUT_MS: '2500',
      GATEHOUSE_SSO_SILENT_REAUTH: 'false',
      GATEHOUSE_ROLES_REQUIRED: '1',
      GATEHOUSE_PUBLIC_PATHS: '/assets/, /favicon.ico',
      GATEHOUSE_SSO_SCOPES: '["openid","email"]',
      GATEHOUSE_ROLES_MAP: '{"idp-admin":"admin","idp-staff":["editor","viewer"]}',
      GATEHOUSE_SESSION_TTL: '2h',
      GATEHOUSE_SHUTDOWN_DRAIN_TIMEOUT: '750ms',
    });
    expect(config.listen.port).toBe(8181);
    expect(config.upstream.timeout_ms).toBe(2500);
    expect(config.sso.silent_reauth).toBe(false);
    expect(config.roles.required).toBe(true);
    expect(config.public_paths).toEqual(['/assets/', '/favicon.ico']);
    expect(config.sso.scopes).toEqual(['openid', 'email']);
    expect(config.roles.map).toEqual({ 'idp-admin': 'admin', 'idp-staff': ['editor', 'viewer'] });
    expect(config.session.ttl).toBe(7_200_000);
    expect(config.shutdown.drain_timeout).toBe(750);
  });

  it('creates the enclosing section when the file does not have it', () => {
    expect(load('mode: local\n', { GATEHOUSE_SESSION_REDIS_PREFIX: 'app1:' }).session.redis).toMatchObject({
      url: 'redis://127.0.0.1:6379',
      prefix: 'app1:',
      cache_ttl: 5000,
    });
  });

  it('reports an unparsable value naming the key and variable, masking secrets', () => {
    expect(
      problemsOf(() =>
        load('mode: local\n', {
          GATEHOUSE_LISTEN_PORT: 'eighty',
          GATEHOUSE_SSO_SILENT_REAUTH: 'yes',
          GATEHOUSE_ROLES_MAP: '[1]',
          GATEHOUSE_SESSION_SECRETS: `["${SECRET_A}"`,
        }),
      ),
    ).toEqual([
      'listen.port: GATEHOUSE_LISTEN_PORT="eighty" is not a valid number',
      'sso.silent_reauth: GATEHOUSE_SSO_SILENT_REAUTH="yes" is not a valid boolean',
      'session.secrets: GATEHOUSE_SESSION_SECRETS=*** is not a valid list',
      'roles.map: GATEHOUSE_ROLES_MAP="[1]" is not a valid map',
    ]);
  });

  it('validates overridden values like file values', () => {
    expect(problemsOf(() => load('mode: local\n', { GATEHOUSE_LISTEN_PORT: '70000', GATEHOUSE_MODE: 'sometimes' }))).toEqual([
      'mode: Invalid option: expected one of "auto"|"cloud"|"local"',
      'listen.port: Too big: expected number to be <=65535',
    ]);
  });
});

describe('loadConfig: secrets from files (GATEHOUSE_<KEY>_FILE)', () => {
  it('reads a string secret without its trailing newline, and list secrets one per line or per PEM block', () => {
    const config = load('mode: local\n', {
      GATEHOUSE_SSO_CLIENT_SECRET_FILE: writeYaml('from-a-file\n'),
      GATEHOUSE_SESSION_SECRETS_FILE: writeYaml(`${SECRET_B}\n\n${SECRET_A}\n`),
      GATEHOUSE_IDENTITY_ASSERTION_KEYS_FILE: writeYaml(`${PEM_A}\n${PEM_B}\n`),
      GATEHOUSE_SESSION_REDIS_URL_FILE: writeYaml('redis://:pw@redis:6379\n'),
    });
    expect(config.sso.client_secret).toBe('from-a-file');
    expect(config.session.secrets).toEqual([SECRET_B, SECRET_A]);
    expect(config.identity.assertion.keys).toEqual([PEM_A, PEM_B]);
    expect(config.session.redis.url).toBe('redis://:pw@redis:6379');
  });

  it('reads a list file holding a JSON array or one JWK', () => {
    expect(load('mode: local\n', { GATEHOUSE_SESSION_SECRETS_FILE: writeYaml(JSON.stringify([SECRET_A, SECRET_B])) }).session.secrets).toEqual([
      SECRET_A,
      SECRET_B,
    ]);
    expect(load('mode: local\n', { GATEHOUSE_IDENTITY_ASSERTION_KEYS_FILE: writeYaml(`${JWK}\n`) }).identity.assertion.keys).toEqual([JWK]);
  });

  it('reads the file again at every load, so a rotated secret applies at the next SIGHUP', () => {
    const file = writeYaml(`${SECRET_A}\n`);
    const env = { GATEHOUSE_SESSION_SECRETS_FILE: file };
    expect(load('mode: local\n', env).session.secrets).toEqual([SECRET_A]);
    writeFileSync(file, `${SECRET_B}\n${SECRET_A}\n`);
    expect(load('mode: local\n', env).session.secrets).toEqual([SECRET_B, SECRET_A]);
  });

  it('reports an unreadable file, a bad JSON list, and a key set both ways, never printing a secret', () => {
    const missing = join(yaml.dir, 'no-such-secret');
    expect(
      problemsOf(() =>
        load('mode: local\n', {
          GATEHOUSE_SSO_CLIENT_SECRET: 'inline-secret',
          GATEHOUSE_SSO_CLIENT_SECRET_FILE: writeYaml('file-secret'),
          GATEHOUSE_SESSION_SECRETS_FILE: missing,
          GATEHOUSE_IDENTITY_ASSERTION_KEYS_FILE: writeYaml('[1, 2]'),
        }),
      ),
    ).toEqual([
      'sso.client_secret: set GATEHOUSE_SSO_CLIENT_SECRET or GATEHOUSE_SSO_CLIENT_SECRET_FILE, not both',
      `session.secrets: cannot read GATEHOUSE_SESSION_SECRETS_FILE=${missing} (ENOENT)`,
      expect.stringMatching(/^identity\.assertion\.keys: GATEHOUSE_IDENTITY_ASSERTION_KEYS_FILE=\S+ is not a JSON array of strings$/),
    ]);
  });

  it('offers _FILE only for secrets: GATEHOUSE_UPSTREAM_URL_FILE is an unknown variable', () => {
    expect(problemsOf(() => load('mode: local\n', { GATEHOUSE_UPSTREAM_URL_FILE: writeYaml('http://elsewhere:1') }))).toEqual([
      'GATEHOUSE_UPSTREAM_URL_FILE: unknown environment variable; did you mean GATEHOUSE_UPSTREAM_URL (upstream.url)?',
    ]);
  });

  it('does not ask for a ${GATEHOUSE_<KEY>} named in the file when GATEHOUSE_<KEY>_FILE replaces the value', () => {
    const text = 'mode: local\nsession:\n  secrets: ["${GATEHOUSE_SESSION_SECRETS}"]\n';
    expect(load(text, { GATEHOUSE_SESSION_SECRETS_FILE: writeYaml(`${SECRET_A}\n`) }).session.secrets).toEqual([SECRET_A]);
    expect(problemsOf(() => load(text))).toEqual(['session.secrets.0: environment variable GATEHOUSE_SESSION_SECRETS is not set']);
  });
});

describe('durations', () => {
  const ttl = (value: string | number): number => validateConfig({ session: { ttl: value } }).session.ttl;

  it('reads 90s, 8h, 1h30m, 500ms, 1d, 1.5h and a bare number of seconds', () => {
    expect(ttl('90s')).toBe(90_000);
    expect(ttl('8h')).toBe(28_800_000);
    expect(ttl('1h30m')).toBe(5_400_000);
    expect(ttl('2500ms')).toBe(2500);
    expect(ttl('1d')).toBe(86_400_000);
    expect(ttl('1.5h')).toBe(5_400_000);
    expect(ttl(90)).toBe(90_000);
    expect(ttl('90')).toBe(90_000);
  });

  it('reports a malformed duration naming the key', () => {
    for (const bad of ['soon', '90 s', '1h 30m', '-5s', '5w', '']) {
      expect(problemsOf(() => ttl(bad))).toEqual([`session.ttl: not a duration: ${JSON.stringify(bad)} (use e.g. 90s, 5m, 8h)`]);
    }
    expect(problemsOf(() => ttl(-1))).toEqual(['session.ttl: not a duration: -1 (use e.g. 90s, 5m, 8h)']);
  });

  it('refuses durations below the floor of their key, printed as written', () => {
    expect(problemsOf(() => ttl('500ms'))).toEqual(['session.ttl: must be at least 2s (got 500ms)']);
    expect(problemsOf(() => ttl(0))).toEqual(['session.ttl: must be at least 2s (got 0ms)']);
    expect(
      problemsOf(() =>
        validateConfig({ session: { idle_timeout: '999ms', refresh_interval: '0s' }, sso: { timeout: '100ms' }, identity: { assertion: { ttl: '1s' } } }),
      ),
    ).toEqual([
      'sso.timeout: must be at least 1s (got 100ms)',
      'session.idle_timeout: must be at least 1s (got 999ms)',
      'session.refresh_interval: must be at least 1s (got 0ms)',
      'identity.assertion.ttl: must be at least 2s (got 1s)',
    ]);
    expect(validateConfig({ mode: 'local', session: { ttl: '2s', idle_timeout: '1s' }, shutdown: { drain_timeout: 0 } }).session.ttl).toBe(2000);
  });
});

describe('validateConfig: problems', () => {
  it('names an unknown key with its full path', () => {
    expect(problemsOf(() => validateConfig({ listen: { hots: '127.0.0.1' }, colour: 'blue' }))).toEqual(['listen.hots: unknown key', 'colour: unknown key']);
  });

  it('names a key of the wrong type and what was expected', () => {
    expect(problemsOf(() => validateConfig({ listen: { port: 'eighty' }, sso: { scopes: 'openid' }, log: { access: 'yes' } }))).toEqual([
      'listen.port: Invalid input: expected number, received string',
      'sso.scopes: Invalid input: expected array, received string',
      'log.access: Invalid input: expected boolean, received string',
    ]);
  });

  it('lists every key cloud mode needs when only mode: cloud is given', () => {
    expect(problemsOf(() => validateConfig({ mode: 'cloud' }))).toEqual([
      'public_url: required in cloud mode',
      'sso.issuer: required in cloud mode',
      'sso.client_id: required in cloud mode',
      'session.secrets: required in cloud mode (at least one secret of 32+ characters)',
      'sso.client_secret: required with client_auth client_secret_basic',
    ]);
  });

  it('reports cloud-mode requirements beside type errors and unknown keys elsewhere, in one run', () => {
    expect(problemsOf(() => validateConfig({ mode: 'cloud', listen: { port: 'eighty' }, session: { ttl: 'soon' }, bogus: 1 }))).toEqual([
      'listen.port: Invalid input: expected number, received string',
      'session.ttl: not a duration: "soon" (use e.g. 90s, 5m, 8h)',
      'bogus: unknown key',
      'public_url: required in cloud mode',
      'sso.issuer: required in cloud mode',
      'sso.client_id: required in cloud mode',
      'session.secrets: required in cloud mode (at least one secret of 32+ characters)',
      'sso.client_secret: required with client_auth client_secret_basic',
    ]);
  });

  it('skips only the cloud checks whose keys are themselves malformed', () => {
    expect(problemsOf(() => validateConfig({ mode: 'cloud', sso: 'idp' }))).toEqual(['sso: Invalid input: expected object, received string']);
    expect(
      problemsOf(() =>
        validateConfig({
          mode: 'cloud',
          public_url: 'https://app.example.com',
          sso: { issuer: 'https://idp', client_id: 'app', client_secret: 's' },
          session: { secrets: [42] },
        }),
      ),
    ).toEqual(['session.secrets.0: Invalid input: expected string, received number']);
  });

  it('checks secret length and roles.url in cloud mode', () => {
    const cloud = { mode: 'cloud', public_url: 'https://app.example.com', sso: { issuer: 'https://idp.example.com', client_id: 'app', client_secret: 's' } };
    expect(problemsOf(() => validateConfig({ ...cloud, session: { secrets: [SECRET_A, 'short'] }, roles: { source: 'url' } }))).toEqual([
      'session.secrets.1: must be at least 32 characters',
      'roles.url: required when roles.source is url',
    ]);
    expect(resolveMode(validateConfig({ ...cloud, mode: 'auto', session: { secrets: [SECRET_A] } }))).toBe('cloud');
  });

  it('refuses an http issuer off loopback, and accepts https or http on 127.0.0.1, [::1] and localhost', () => {
    const cloud = { mode: 'cloud', public_url: 'https://app.example.com', session: { secrets: [SECRET_A] } };
    const withIssuer = (issuer: string) => ({ ...cloud, sso: { issuer, client_id: 'app', client_secret: 's' } });
    expect(problemsOf(() => validateConfig(withIssuer('http://idp.example.com')))).toEqual([
      'sso.issuer: http:// is refused for idp.example.com: only https, or http on a loopback host (127.0.0.1, ::1, localhost) for development',
    ]);
    expect(problemsOf(() => validateConfig(withIssuer('idp.example.com')))).toEqual(['sso.issuer: not a URL: "idp.example.com"']);
    for (const issuer of ['https://idp.example.com', 'http://127.0.0.1:9000', 'http://[::1]:9000', 'http://localhost:9000/realms/dev']) {
      expect(validateConfig(withIssuer(issuer)).sso.issuer).toBe(issuer);
    }
  });

  it('requires assertion keys with the Redis store, where replicas must sign alike, unless the assertion is off', () => {
    const cloud = { mode: 'cloud', public_url: 'https://app.example.com', sso: { issuer: 'https://idp.example.com', client_id: 'app', client_secret: 's' } };
    const redis = { secrets: [SECRET_A], store: 'redis' };
    expect(problemsOf(() => validateConfig({ ...cloud, session: redis }))).toEqual([
      'identity.assertion.keys: required when session.store is redis: every replica must sign with the same key (an EC P-256 private key, PEM or JWK)',
    ]);
    expect(validateConfig({ ...cloud, session: redis, identity: { assertion: { keys: [PEM_A] } } }).session.store).toBe('redis');
    expect(validateConfig({ ...cloud, session: redis, identity: { assertion: { enabled: false } } }).session.store).toBe('redis');
    expect(validateConfig({ ...cloud, session: { secrets: [SECRET_A] } }).identity.assertion.keys).toEqual([]);
  });

  it('does not require cloud keys in local mode', () => {
    expect(resolveMode(validateConfig({ mode: 'local' }))).toBe('local');
  });
});

describe('maskSecrets', () => {
  it('replaces every secret and the Redis password, leaving the rest', () => {
    const config = validateConfig({
      mode: 'local',
      sso: { client_secret: 'top-secret' },
      session: { secrets: [SECRET_A, SECRET_B], redis: { url: 'redis://user:hunter2@redis:6379/0' } },
      identity: { assertion: { keys: [PEM_A] } },
    });
    const masked = maskSecrets(config) as Config;
    expect(masked.sso.client_secret).toBe('***');
    expect(masked.session.secrets).toEqual(['***', '***']);
    expect(masked.identity.assertion.keys).toEqual(['***']);
    expect(masked.session.redis.url).toBe('redis://***@redis:6379/0');
    expect(masked.upstream).toEqual(config.upstream);
    expect(config.sso.client_secret).toBe('top-secret');
  });

  it('masks a Redis password holding @, + and = up to the last @', () => {
    const config = validateConfig({ mode: 'local', session: { redis: { url: 'redis://:p+a=ss@w@rd@redis:6379' } } });
    expect((maskSecrets(config) as Config).session.redis.url).toBe('redis://***@redis:6379');
  });
});
