// Redis credentials with any bytes and TLS with a CA file, against redis-servers this file starts itself:
// session.redis.username / password (from ${ENV} and GATEHOUSE_SESSION_REDIS_PASSWORD_FILE), a percent-encoded
// password in the URL, and rediss:// with session.redis.tls.ca_file (and a client certificate).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, maskSecrets } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { ConfigError, GatehouseError } from '../../../src/errors.js';
import { createLogger } from '../../../src/ops/logger.js';
import { createSessionStore, type ReadySessionStore } from '../../../src/session/create-store.js';
import { Sealer } from '../../../src/session/sealer.js';
import type { SessionRecord } from '../../../src/session/types.js';
import { hasCommand, makeTestCertificates, type RedisServer, startRedisServer, type TestCertificates } from '../../helpers/redis-server.js';

const HAVE_REDIS = hasCommand('redis-server', ['--version']);
const HAVE_OPENSSL = hasCommand('openssl', ['version']);
const sealer = new Sealer(['redis-credentials-test-secret-0123456789']);

/** Every character the issue names, and more that break a URL: `/ + = @ :`, space, `%`, `#`, `?`, quotes, UTF-8. */
const DEFAULT_PASSWORD = `p/+=@:x y%25#?&"'\\é-${randomBytes(4).toString('hex')}`;
/** An ACL user's password: the ACL rule syntax (`>password`) ends at a space, so none here. */
const ACL_PASSWORD = `a/b+c=d@e:f%2F${randomBytes(4).toString('hex')}`;

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-redis-credentials-'));
const servers: RedisServer[] = [];
const stores: ReadySessionStore[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close?.()));
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

/** Log lines as text, to check what a failure says and that no password is in it. */
function capturingLogger(): { logger: ReturnType<typeof createLogger>; text: () => string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), text: () => lines.join('') };
}

let files = 0;
/** Loads a config file (YAML text) with `env`, as `start` does. */
function load(yaml: string, env: NodeJS.ProcessEnv = {}): Config {
  const path = join(tmp, `config-${(files += 1)}.yaml`);
  writeFileSync(path, yaml);
  return loadConfig({ path, env }).config;
}

function writeSecret(name: string, value: string): string {
  const path = join(tmp, name);
  writeFileSync(path, `${value}\n`);
  return path;
}

function record(): SessionRecord {
  const now = Date.now();
  return {
    key: randomBytes(32).toString('base64url'),
    claims: { sub: `user-${randomBytes(4).toString('hex')}` },
    roles: [],
    idToken: 'id-token',
    tokensExpireAt: now + 3600_000,
    createdAt: now,
    expiresAt: now + 3600_000,
    lastSeenAt: now,
    refreshAt: now + 300_000,
  };
}

async function open(config: Config, logger = createLogger({ level: 'silent', sync: true })): Promise<ReadySessionStore> {
  const store = await createSessionStore(config, { sealer, logger });
  stores.push(store);
  return store;
}

/** The store is connected and a record written through it reads back from Redis. */
async function expectRoundTrip(store: ReadySessionStore): Promise<void> {
  expect(store.ready).toBe(true);
  const written = record();
  await store.set(written);
  expect((await store.reload?.(written.key))?.claims.sub).toBe(written.claims.sub);
}

describe.skipIf(!HAVE_REDIS)(
  HAVE_REDIS
    ? 'Redis password and ACL user with any bytes (own redis-server)'
    : 'Redis password and ACL user: SKIPPED, redis-server is not installed (apt-get install redis-server)',
  () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedisServer(['--requirepass', DEFAULT_PASSWORD, '--user', 'gatehouse', 'on', `>${ACL_PASSWORD}`, '~*', '&*', '+@all']);
      servers.push(server);
    });
    const url = () => `redis://127.0.0.1:${server.port}`;

    it('session.redis.password from GATEHOUSE_SESSION_REDIS_PASSWORD_FILE, taken byte for byte', async () => {
      const config = load(`session: { store: redis, redis: { url: "${url()}" } }\n`, {
        GATEHOUSE_SESSION_REDIS_PASSWORD_FILE: writeSecret('default-password', DEFAULT_PASSWORD),
      });
      expect(config.session.redis.password).toBe(DEFAULT_PASSWORD);
      await expectRoundTrip(await open(config));
    });

    it('session.redis.username and password from ${ENV} (an ACL user)', async () => {
      const config = load(`session:\n  store: redis\n  redis: { url: "${url()}", username: gatehouse, password: "\${REDIS_PASSWORD}" }\n`, {
        REDIS_PASSWORD: ACL_PASSWORD,
      });
      expect(config.session.redis.password).toBe(ACL_PASSWORD);
      await expectRoundTrip(await open(config));
    });

    it('or percent-encoded in the URL (encodeURIComponent of each part)', async () => {
      const encoded = `redis://gatehouse:${encodeURIComponent(ACL_PASSWORD)}@127.0.0.1:${server.port}`;
      await expectRoundTrip(await open(load(`session: { store: redis, redis: { url: "${encoded}" } }\n`)));
    });

    it('a wrong password: not ready, the log says why and never shows a password', async () => {
      const capture = capturingLogger();
      const config = load(`session: { store: redis, redis: { url: "${url()}", username: gatehouse, password: "\${REDIS_PASSWORD}" } }\n`, {
        REDIS_PASSWORD: DEFAULT_PASSWORD,
      });
      const store = await open(config, capture.logger);
      expect(store.ready).toBe(false);
      await expect(store.get('missing')).rejects.toMatchObject({ code: 'GH_STORE_UNAVAILABLE' });
      expect(capture.text()).toMatch(/WRONGPASS/);
      expect(capture.text()).not.toContain(DEFAULT_PASSWORD);
      expect(capture.text()).not.toContain(ACL_PASSWORD);
    });

    it('check-config output masks the password', () => {
      const config = load(`session: { store: redis, redis: { url: "${url()}", password: "\${REDIS_PASSWORD}" } }\n`, { REDIS_PASSWORD: DEFAULT_PASSWORD });
      const masked = maskSecrets(config) as { session: { redis: { password: string } } };
      expect(masked.session.redis.password).toBe('***');
      expect(JSON.stringify(masked)).not.toContain(DEFAULT_PASSWORD.slice(0, 12));
    });
  },
);

describe('session.redis credentials and TLS keys: config errors', () => {
  const problems = (yaml: string, env: NodeJS.ProcessEnv = {}): readonly string[] => {
    try {
      load(yaml, env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('credentials in the URL and in username/password at once', () => {
    expect(problems('session: { store: redis, redis: { url: "redis://:x@127.0.0.1:6379", password: y } }\n')).toEqual([
      'session.redis.url: carries credentials while session.redis.username/password are set; keep them in one place',
    ]);
  });

  it('tls files with a redis:// URL, and a client certificate without its key', () => {
    expect(problems('session: { redis: { url: "redis://127.0.0.1:6379", tls: { ca_file: /ca.pem } } }\n')).toEqual([
      'session.redis.tls: needs a rediss:// url',
    ]);
    expect(problems('session: { redis: { url: "rediss://127.0.0.1:6379", tls: { cert_file: /c.pem } } }\n')).toEqual([
      'session.redis.tls.key_file: cert_file and key_file go together',
    ]);
  });

  it('GATEHOUSE_SESSION_REDIS_PASSWORD and its _FILE at once', () => {
    expect(problems('{}\n', { GATEHOUSE_SESSION_REDIS_PASSWORD: 'x', GATEHOUSE_SESSION_REDIS_PASSWORD_FILE: '/nonexistent' })).toEqual([
      'session.redis.password: set GATEHOUSE_SESSION_REDIS_PASSWORD or GATEHOUSE_SESSION_REDIS_PASSWORD_FILE, not both',
    ]);
  });

  it('an unreadable ca_file refuses to start, naming the key', async () => {
    const config = load('session: { store: redis, redis: { url: "rediss://127.0.0.1:1", tls: { ca_file: /nonexistent/ca.pem } } }\n');
    const error = await createSessionStore(config, { sealer, logger: createLogger({ level: 'silent', sync: true }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(['session.redis.tls.ca_file: cannot read /nonexistent/ca.pem (ENOENT)']);
  });
});

const TLS_READY = HAVE_REDIS && HAVE_OPENSSL;
describe.skipIf(!TLS_READY)(
  TLS_READY
    ? 'rediss:// with session.redis.tls.ca_file (own redis-server with TLS)'
    : `rediss:// with a CA file: SKIPPED, ${HAVE_REDIS ? '' : 'redis-server '}${HAVE_OPENSSL ? '' : 'openssl '}not installed`,
  () => {
    let certs: TestCertificates;
    let serverOnly: RedisServer;
    let mutual: RedisServer;
    beforeAll(async () => {
      const dir = mkdtempSync(join(tmp, 'certs-'));
      certs = makeTestCertificates(dir);
      const tlsFlags = ['--tls-cert-file', certs.serverCertFile, '--tls-key-file', certs.serverKeyFile, '--tls-ca-cert-file', certs.caFile];
      [serverOnly, mutual] = await Promise.all([
        startRedisServer([...tlsFlags, '--tls-auth-clients', 'no', '--requirepass', DEFAULT_PASSWORD], { tls: true }),
        startRedisServer(tlsFlags, { tls: true }),
      ]);
      servers.push(serverOnly, mutual);
    });

    it('trusts the server through ca_file (with the password beside the URL)', async () => {
      const config = load(
        `session: { store: redis, redis: { url: "rediss://127.0.0.1:${serverOnly.port}", password: "\${P}", tls: { ca_file: "${certs.caFile}" } } }\n`,
        { P: DEFAULT_PASSWORD },
      );
      await expectRoundTrip(await open(config));
    });

    it('also by host name (localhost: the certificate name is checked)', async () => {
      const config = load(
        `session: { store: redis, redis: { url: "rediss://localhost:${serverOnly.port}", password: "\${P}", tls: { ca_file: "${certs.caFile}" } } }\n`,
        { P: DEFAULT_PASSWORD },
      );
      await expectRoundTrip(await open(config));
    });

    it('refuses a server its CA file did not sign, and says so', async () => {
      const capture = capturingLogger();
      const config = load(
        `session: { store: redis, redis: { url: "rediss://127.0.0.1:${serverOnly.port}", password: "\${P}", tls: { ca_file: "${certs.otherCaFile}" } } }\n`,
        { P: DEFAULT_PASSWORD },
      );
      const store = await open(config, capture.logger);
      expect(store.ready).toBe(false);
      // the server's chain ends in the test CA, which the other CA file does not hold
      expect(capture.text()).toContain('"err":"self-signed certificate in certificate chain"');
    });

    it('without ca_file the system CAs do not know the test CA: not ready', async () => {
      const capture = capturingLogger();
      const config = load(`session: { store: redis, redis: { url: "rediss://127.0.0.1:${serverOnly.port}", password: "\${P}" } }\n`, { P: DEFAULT_PASSWORD });
      expect((await open(config, capture.logger)).ready).toBe(false);
      expect(capture.text()).toContain('"err":"self-signed certificate in certificate chain"');
    });

    it('presents cert_file / key_file to a server that requires a client certificate', async () => {
      const base = `url: "rediss://127.0.0.1:${mutual.port}", tls: { ca_file: "${certs.caFile}"`;
      const withClientCert = load(
        `session: { store: redis, redis: { ${base}, cert_file: "${certs.clientCertFile}", key_file: "${certs.clientKeyFile}" } } }\n`,
      );
      await expectRoundTrip(await open(withClientCert));
      const without = await open(load(`session: { store: redis, redis: { ${base} } } }\n`));
      expect(without.ready).toBe(false);
      await expect(without.get('missing')).rejects.toBeInstanceOf(GatehouseError);
    });
  },
);
