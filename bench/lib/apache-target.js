// Apache httpd + mod_auth_openidc as a bench row, when Debian's apache2 and libapache2-mod-auth-openidc are installed:
// an OIDC peer in front of the same upstream, signed in through the same dev provider, measured with its session cookie.
// Its own ServerRoot, pid file and logs in a temp dir; event MPM with a fixed set of children, so the process tree
// whose CPU is read stays the same for the whole run.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNED_IN_USER, signInWhenReady } from './cloud-targets.js';
import { makeTempDir, spawnTracked, stopChild, waitForPort } from './processes.js';

const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const OPENIDC_MODULE = `${MODULES}/mod_auth_openidc.so`;
const CLIENT_ID = 'bench-apache-openidc';
const CLIENT_SECRET = 'bench-apache-client-secret-0123456789';
const SESSION_COOKIE = 'mod_auth_openidc_session';
const REDIRECT_PATH = '/redirect_uri';
/** Two children of 25 threads: 50 workers for the 50 connections, spare limits wide enough that no child is reaped. */
const CHILDREN = 2;
const THREADS_PER_CHILD = 25;
const INSTALL = 'apt-get install -y apache2 libapache2-mod-auth-openidc';

/** @param {number} port */
const originFor = (port) => `http://127.0.0.1:${port}`;

/**
 * The row's client at the dev provider (registered there before it starts).
 * @param {number} port the port Apache will listen on
 * @returns {import('../../demo/dev-provider.js').DevClient}
 */
export function apacheClient(port) {
  return { client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [`${originFor(port)}${REDIRECT_PATH}`] };
}

/** @param {{ dir: string, port: number, upstreamUrl: string, issuer: string, openidcModule: string }} options */
function apacheConfig({ dir, port, upstreamUrl, issuer, openidcModule }) {
  const upstream = new URL(upstreamUrl).origin;
  const modules = ['mpm_event', 'authn_core', 'authz_core', 'authz_user', 'proxy', 'proxy_http'];
  return `ServerRoot ${dir}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/apache2.pid
DefaultRuntimeDir ${dir}
Mutex file:${dir} default
ErrorLog ${dir}/error.log
LogLevel warn
User www-data
Group www-data
${modules.map((name) => `LoadModule ${name}_module ${MODULES}/mod_${name}.so`).join('\n')}
LoadModule auth_openidc_module ${openidcModule}

StartServers ${CHILDREN}
ServerLimit ${CHILDREN}
ThreadsPerChild ${THREADS_PER_CHILD}
ThreadLimit ${THREADS_PER_CHILD}
MaxRequestWorkers ${CHILDREN * THREADS_PER_CHILD}
MinSpareThreads ${THREADS_PER_CHILD}
MaxSpareThreads ${CHILDREN * THREADS_PER_CHILD}
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60

LogFormat "%h %l %u %t \\"%r\\" %>s %b" common
CustomLog ${dir}/access.log common

OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration
OIDCClientID ${CLIENT_ID}
OIDCClientSecret ${CLIENT_SECRET}
OIDCRedirectURI ${originFor(port)}${REDIRECT_PATH}
OIDCCryptoPassphrase ${randomBytes(24).toString('hex')}
OIDCScope "openid profile email roles offline_access"
OIDCPKCEMethod S256
OIDCSessionType server-cache
OIDCCacheType shm
OIDCSessionInactivityTimeout 86400
OIDCPassClaimsAs headers
OIDCPassIDTokenAs claims
OIDCPassUserInfoAs claims
OIDCStripCookies ${SESSION_COOKIE}

ProxyPass ${REDIRECT_PATH} !
ProxyPass / ${upstream}/
<Location />
  AuthType openid-connect
  Require valid-user
</Location>
`;
}

/** Lines in a file (0 when it does not exist yet). */
function countLines(file) {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file);
  let lines = 0;
  for (let at = text.indexOf(10); at !== -1; at = text.indexOf(10, at + 1)) lines++;
  return lines;
}

/**
 * Resolves once Apache listens; rejects with its error log when it exits first (a bad config, a missing module).
 * @param {import('node:child_process').ChildProcess} child
 */
async function listeningOrExited(child, port, errorLog) {
  /** @type {(code: number | null) => void} */
  let onExit = () => {};
  const exited = new Promise((_resolve, reject) => {
    onExit = (code) => reject(new Error(`apache2 exited with code ${code}: ${existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''}`));
    child.once('exit', onExit);
  });
  try {
    await Promise.race([waitForPort(port), exited]);
  } finally {
    child.off('exit', onExit);
  }
}

/**
 * @param {Pick<import('./targets.js').Upstream, 'url'>} upstream
 * @param {{ port: number, issuer: () => string, apache?: string, openidcModule?: string }} options port: the one
 *   apacheClient was registered with; issuer: the dev provider's, read at start; apache, openidcModule: where the
 *   binary and the module are (Debian's paths by default)
 * @returns {import('./targets.js').Target & { headers?: Record<string, string>, accessLogLines: () => number }}
 */
export function apacheTarget(upstream, { port, issuer, apache = APACHE, openidcModule = OPENIDC_MODULE }) {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child;
  let dir = '';
  return {
    name: 'apache-openidc',
    url: '',
    pid: 0,
    headers: undefined,
    note:
      `apache-openidc: Apache httpd + mod_auth_openidc (Debian's apache2 and libapache2-mod-auth-openidc), signed in as ${SIGNED_IN_USER} through the dev provider's login and consent forms; ` +
      `event MPM, ${CHILDREN} children × ${THREADS_PER_CHILD} threads (CPU: the parent and its children), session in the shm cache (OIDCSessionType server-cache), ` +
      'mod_proxy_http with reused upstream connections, access log on to a file; passes the ID token and userinfo claims as OIDC_CLAIM_* headers ' +
      "(sub, email, email_verified, name, preferred_username, roles and the ID token's iss, aud, exp, iat, …) plus OIDC_access_token and OIDC_access_token_expires " +
      '(mod_proxy adds X-Forwarded-For, -Host and -Server), signs no assertion (so gatehouse-cloud-no-assertion is its closest gatehouse row), ' +
      'scrubs client-sent OIDC_CLAIM_* headers and strips its session cookie from the forwarded request',
    async start() {
      if (!existsSync(apache) || !existsSync(openidcModule)) {
        const missing = existsSync(apache) ? 'libapache2-mod-auth-openidc' : 'apache2';
        console.error(`bench: ${missing} is not installed, skipping the apache-openidc row (${INSTALL})`);
        this.note = `apache-openidc: skipped, ${missing} is not installed (${INSTALL})`;
        return false;
      }
      dir = makeTempDir('apache');
      const configFile = join(dir, 'apache2.conf');
      writeFileSync(configFile, apacheConfig({ dir, port, upstreamUrl: upstream.url, issuer: issuer(), openidcModule }));
      child = spawnTracked(apache, ['-d', dir, '-f', configFile, '-DFOREGROUND'], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, LANG: 'C' },
      });
      await listeningOrExited(child, port, join(dir, 'error.log'));
      this.url = originFor(port);
      this.pid = /** @type {number} */ (child.pid);
      this.headers = { cookie: await signInWhenReady({ startUrl: `${this.url}/fixed`, sessionCookie: SESSION_COOKIE, user: SIGNED_IN_USER }) };
      return true;
    },
    accessLogLines: () => (dir ? countLines(join(dir, 'access.log')) : 0),
    async stop() {
      // SIGTERM makes the parent stop its children and exit.
      if (child) await stopChild(child, 10_000);
    },
  };
}
