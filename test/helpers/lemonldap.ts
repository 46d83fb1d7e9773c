// LemonLDAP::NG (Debian's packages) as an independent OpenID Provider for tests: its configuration is built from
// test/fixtures/lemonldap/ in a temporary directory (the packaged /etc and /var/lib stay untouched), llng-fastcgi-server
// runs as www-data in the foreground behind an nginx on a loopback port, and users come from a REST directory served
// by this process, so a test can change a user's roles at the provider. stop() ends both processes by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedKeys } from './keys.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const FASTCGI_SERVER = '/usr/sbin/llng-fastcgi-server';
const DEFAULT_CONF = '/var/lib/lemonldap-ng/conf/lmConf-1.json';
const FIXTURES = fileURLToPath(new URL('../fixtures/lemonldap/', import.meta.url));
const RUN_AS = 'www-data';

export interface DirectoryUser {
  password: string;
  cn: string;
  mail: string;
  roles: string[];
}

export interface LemonLdap {
  /** http://localhost:<port> — the portal and OpenID issuer (a hostname: LemonLDAP::NG refuses an IP domain). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The users the portal authenticates, by login; change `roles` and the next offline refresh reads them. */
  users: Map<string, DirectoryUser>;
  /** User lookups the portal made at the directory (sign-in and each offline refresh), by login. */
  lookups: string[];
  /** nginx's and LemonLDAP::NG's own output so far, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

export interface LemonLdapOptions {
  /** gatehouse's callback URL, registered as the only redirect URI. */
  redirectUri: string;
  /** Registered post_logout_redirect_uri. */
  postLogoutRedirectUri: string;
  users: Record<string, DirectoryUser>;
}

/** Why LemonLDAP::NG cannot run here, or undefined when it can. */
export function lemonLdapUnavailable(): string | undefined {
  if (!existsSync(FASTCGI_SERVER)) return `${FASTCGI_SERVER} missing (apt-get install lemonldap-ng lemonldap-ng-fastcgi-server liblemonldap-ng-portal-perl)`;
  if (!existsSync(DEFAULT_CONF)) return `${DEFAULT_CONF} missing (package lemonldap-ng not configured)`;
  if (spawnSync('perl', ['-MString::Random', '-MGD::SecurityImage=use_magick,1', '-e', '1']).status !== 0) {
    return 'Perl modules of the LemonLDAP::NG portal missing (apt-get install libstring-random-perl libgd-securityimage-perl libimage-magick-perl)';
  }
  if (spawnSync('nginx', ['-v']).error) return 'nginx missing';
  if (process.getuid?.() !== 0) return 'llng-fastcgi-server must be started as root to switch to www-data';
  if (wwwData() === undefined) return 'no www-data user';
  return undefined;
}

export async function startLemonLdap(options: LemonLdapOptions): Promise<LemonLdap> {
  const owner = wwwData();
  if (!owner) throw new Error('no www-data user');
  const dir = mkdtempSync('/tmp/gatehouse-llng-');
  for (const sub of ['conf', 'sessions/lock', 'psessions/lock', 'cache', 'nginx-body', 'nginx-fastcgi', 'nginx-proxy', 'nginx-uwsgi', 'nginx-scgi'])
    mkdirSync(join(dir, sub), { recursive: true });
  const users = new Map(Object.entries(options.users));
  const lookups: string[] = [];
  const directory = await startDirectory(users, lookups);
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const clientSecret = 'gatehouse-e2e-secret';
  const socket = join(dir, 'llng-fastcgi.sock');
  const { privatePem, publicPem } = generatedKeys('rsa', { modulusLength: 2048 });
  const values: Record<string, string> = {
    DIR: dir,
    ISSUER: issuer,
    DIRECTORY: directory.url,
    CLIENT_SECRET: clientSecret,
    REDIRECT_URI: options.redirectUri,
    POST_LOGOUT_REDIRECT_URI: options.postLogoutRedirectUri,
    PRIVATE_KEY: privatePem,
    PUBLIC_KEY: publicPem,
    PORT: String(port),
    SOCKET: socket,
    LOG_LEVEL: process.env.LLNG_LOG_LEVEL ?? 'warn',
  };
  const overlay = fill(JSON.parse(readFileSync(join(FIXTURES, 'gatehouse-rp.json'), 'utf8')) as Record<string, unknown>, values);
  delete overlay._comment;
  const conf = { ...(JSON.parse(readFileSync(DEFAULT_CONF, 'utf8')) as Record<string, unknown>), ...overlay, cfgNum: 1 };
  writeFileSync(join(dir, 'conf', 'lmConf-1.json'), JSON.stringify(conf, null, 2));
  const ini = join(dir, 'lemonldap-ng.ini');
  writeFileSync(ini, fillText(readFileSync(join(FIXTURES, 'lemonldap-ng.ini'), 'utf8'), values));
  writeFileSync(join(dir, 'nginx.conf'), fillText(readFileSync(join(FIXTURES, 'nginx.conf'), 'utf8'), values));
  chownTree(dir, owner);

  let output = '';
  const collect = (child: ChildProcess, name: string): void => {
    child.stdout?.on('data', (chunk: Buffer) => (output += `[${name}] ${chunk.toString()}`));
    child.stderr?.on('data', (chunk: Buffer) => (output += `[${name}] ${chunk.toString()}`));
  };
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopChild));
    await directory.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const fastcgi = spawn(FASTCGI_SERVER, ['--foreground', '-u', RUN_AS, '-g', RUN_AS, '-n', '2', '-s', socket, '-p', join(dir, 'llng.pid')], {
      env: { ...process.env, LLNG_DEFAULTCONFFILE: ini, LLNG_DEFAULTLOGGER: 'Lemonldap::NG::Common::Logger::Std' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(fastcgi);
    collect(fastcgi, 'llng');
    await waitFor(() => existsSync(socket), { timeoutMs: 20_000, intervalMs: 50, what: () => `llng-fastcgi-server did not open ${socket}:\n${output}` });
    const nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'nginx-error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(nginx);
    collect(nginx, 'nginx');
    await waitFor(async () => (await fetchStatus(`http://127.0.0.1:${port}/.well-known/openid-configuration`)) === 200, {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: () => `LemonLDAP::NG discovery did not answer 200:\n${output}${readIfExists(join(dir, 'nginx-error.log'))}`,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    issuer,
    clientId: 'gatehouse',
    clientSecret,
    users,
    lookups,
    output: () => output + readIfExists(join(dir, 'nginx-error.log')),
    stop,
  };
}

/** The REST directory LemonLDAP::NG authenticates against (restAuthUrl) and reads users from (restUserDBUrl). */
async function startDirectory(users: Map<string, DirectoryUser>, lookups: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { user?: string; password?: string };
      const user = body.user === undefined ? undefined : users.get(body.user);
      let answer: Record<string, unknown> = { result: false };
      if (req.url === '/auth' && user && body.password === user.password) answer = { result: true, info: {} };
      if (req.url === '/user' && user && body.user !== undefined) {
        lookups.push(body.user);
        answer = { result: true, info: { uid: body.user, cn: user.cn, mail: user.mail, roles: user.roles.join(';') } };
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function fill(value: Record<string, unknown>, values: Record<string, string>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value), (_key, item: unknown) => (typeof item === 'string' ? fillText(item, values) : item)) as Record<string, unknown>;
}

function fillText(text: string, values: Record<string, string>): string {
  return text.replace(/\{\{([A-Z_]+)\}\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole}`);
    return value;
  });
}

function wwwData(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${RUN_AS}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid === undefined || gid === undefined ? undefined : { uid: Number(uid), gid: Number(gid) };
}

function chownTree(path: string, owner: { uid: number; gid: number }): void {
  chownSync(path, owner.uid, owner.gid);
  if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), owner);
}

function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

async function fetchStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return undefined;
  }
}

/** SIGTERM by PID, then SIGKILL if the process has not exited within 5 s. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
