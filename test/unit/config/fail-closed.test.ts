// Fail closed: `mode: auto` is cloud as soon as any sso.* key or GATEHOUSE_SSO_* variable is set, a partial SSO
// config names every missing key, and an unknown GATEHOUSE_* variable is an error with the closest real name.
import { afterAll, describe, expect, it } from 'vitest';
import { closestEnvName } from '../../../src/config/keys.js';
import { loadConfig, type LoadedConfig } from '../../../src/config/load.js';
import { resolveMode } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';
import { temporaryYamlFiles } from '../../helpers/gatehouse-process.js';

const yaml = temporaryYamlFiles('gatehouse-fail-closed-');
afterAll(yaml.remove);

const SECRET = 's'.repeat(40);
/** The image's config/gatehouse.yaml, in short. */
const IMAGE_DEFAULT = 'mode: auto\nupstream: { url: http://127.0.0.1:3000 }\n';

function load(text: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  return loadConfig({ path: yaml.write(text), env });
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    load(text, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('mode auto', () => {
  it('is local only when no sso.* key and no GATEHOUSE_SSO_* variable is set, and says why', () => {
    const loaded = load(IMAGE_DEFAULT);
    expect(resolveMode(loaded.config)).toBe('local');
    expect(loaded.modeReason).toBe('mode auto is local: no sso.* key and no GATEHOUSE_SSO_* variable is set');
  });

  it('is cloud as soon as a GATEHOUSE_SSO_* variable is set: the issue 14 typo fails instead of passing everything', () => {
    expect(
      problemsOf(IMAGE_DEFAULT, {
        GATEHOUSE_SSO_ISSUER_URL: 'https://idp.example.com',
        GATEHOUSE_SSO_CLIENT_ID: 'app',
        GATEHOUSE_SSO_CLIENT_SECRET: 'client-secret',
        GATEHOUSE_SESSION_SECRETS: SECRET,
        GATEHOUSE_PUBLIC_URL: 'https://app.example.com',
      }),
    ).toEqual([
      'GATEHOUSE_SSO_ISSUER_URL: unknown environment variable; did you mean GATEHOUSE_SSO_ISSUER (sso.issuer)?',
      'sso.issuer: required in cloud mode (mode auto is cloud: sso.client_id is set by GATEHOUSE_SSO_CLIENT_ID, sso.client_secret is set by GATEHOUSE_SSO_CLIENT_SECRET)',
    ]);
  });

  it('is cloud as soon as any sso.* key is in the file, even one that is not issuer or client id', () => {
    expect(problemsOf(`${IMAGE_DEFAULT}sso: { scopes: [openid] }\n`)).toEqual([
      'public_url: required in cloud mode (mode auto is cloud: sso.scopes is set)',
      'sso.issuer: required in cloud mode (mode auto is cloud: sso.scopes is set)',
      'sso.client_id: required in cloud mode (mode auto is cloud: sso.scopes is set)',
      'session.secrets: required in cloud mode (mode auto is cloud: sso.scopes is set; at least one secret of 32+ characters)',
      'sso.client_secret: required with client_auth client_secret_basic',
    ]);
    expect(problemsOf(IMAGE_DEFAULT, { GATEHOUSE_SSO_ISSUER: '' })).toHaveLength(5);
  });

  it('names each missing key of a partial SSO config: issuer without client id, and the reverse', () => {
    const rest = 'public_url: https://app.example.com\nsession: { secrets: ["' + SECRET + '"] }\n';
    expect(problemsOf(`${rest}sso: { issuer: https://idp.example.com, client_secret: s }\n`)).toEqual([
      'sso.client_id: required in cloud mode (mode auto is cloud: sso.issuer is set, sso.client_secret is set)',
    ]);
    expect(problemsOf(`${rest}sso: { client_id: app, client_secret: s }\n`)).toEqual([
      'sso.issuer: required in cloud mode (mode auto is cloud: sso.client_id is set, sso.client_secret is set)',
    ]);
    expect(problemsOf('sso: { issuer: https://idp.example.com, client_id: app, client_auth: none }\n')).toEqual([
      'public_url: required in cloud mode (mode auto is cloud: sso.issuer is set, sso.client_id is set, sso.client_auth is set)',
      'session.secrets: required in cloud mode (mode auto is cloud: sso.issuer is set, sso.client_id is set, sso.client_auth is set; at least one secret of 32+ characters)',
    ]);
  });

  it('resolves a complete SSO config to cloud, and an explicit mode stays as written', () => {
    const loaded = load(IMAGE_DEFAULT, {
      GATEHOUSE_SSO_ISSUER: 'https://idp.example.com',
      GATEHOUSE_SSO_CLIENT_ID: 'app',
      GATEHOUSE_SSO_CLIENT_SECRET: 'client-secret',
      GATEHOUSE_SESSION_SECRETS: SECRET,
      GATEHOUSE_PUBLIC_URL: 'https://app.example.com',
    });
    expect(resolveMode(loaded.config)).toBe('cloud');
    expect(loaded.modeReason).toBe(
      'mode auto is cloud: sso.issuer is set by GATEHOUSE_SSO_ISSUER, sso.client_id is set by GATEHOUSE_SSO_CLIENT_ID, sso.client_secret is set by GATEHOUSE_SSO_CLIENT_SECRET',
    );
    const local = load('mode: local\nsso: { issuer: https://idp.example.com }\n');
    expect([resolveMode(local.config), local.modeReason]).toEqual(['local', 'mode is local']);
  });
});

describe('unknown GATEHOUSE_* variables', () => {
  it('are an error each, naming the closest real variable and its key', () => {
    expect(problemsOf('mode: local\n', { GATEHOUSE_SESSION_SECRET: SECRET, GATEHOUSE_ASSERTION_KEY: 'k', GATEHOUSE_LISTEN_PROT: '80' })).toEqual([
      'GATEHOUSE_ASSERTION_KEY: unknown environment variable; did you mean GATEHOUSE_IDENTITY_ASSERTION_KEYS (identity.assertion.keys)?',
      'GATEHOUSE_LISTEN_PROT: unknown environment variable; did you mean GATEHOUSE_LISTEN_PORT (listen.port)?',
      'GATEHOUSE_SESSION_SECRET: unknown environment variable; did you mean GATEHOUSE_SESSION_SECRETS (session.secrets)?',
    ]);
  });

  it('accept GATEHOUSE_<KEY>_FILE for the keys read from files, and a GATEHOUSE_ name the file itself reads with ${...}', () => {
    const file = yaml.write(`${SECRET}\n`);
    const loaded = load('mode: local\nupstream: { url: "${GATEHOUSE_APP_URL:-http://127.0.0.1:3000}" }\n', {
      GATEHOUSE_SESSION_SECRETS_FILE: file,
      GATEHOUSE_APP_URL: 'http://127.0.0.1:4000',
      OTHER_VARIABLE: 'ignored',
    });
    expect(loaded.config.session.secrets).toEqual([SECRET]);
    expect(loaded.config.upstream.url).toBe('http://127.0.0.1:4000');
  });

  it('suggests by shared words first, then by edit distance', () => {
    expect(closestEnvName('GATEHOUSE_SSO_ISSUER_URL')).toBe('GATEHOUSE_SSO_ISSUER');
    expect(closestEnvName('GATEHOUSE_SESSION_SECRETS_FILES')).toBe('GATEHOUSE_SESSION_SECRETS_FILE');
    expect(closestEnvName('GATEHOUSE_UPSTREAM')).toBe('GATEHOUSE_UPSTREAM_URL');
  });
});
