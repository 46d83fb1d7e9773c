// Soak test (npm run soak; not part of npm test): SOAK_SECONDS (default 300) of mixed load against a gatehouse
// child process in cloud mode, the development OpenID provider and a recording app with a WebSocket echo:
// signed-in browsing, real sign-ins through the provider's login and consent forms, logouts, unauthenticated
// floods and WebSocket round trips. Prints the gatehouse's RSS, open file descriptors and sockets at start, at
// each interval and at the end; fails (exit 1) when RSS has not levelled off (end more than 5 % above the highest
// RSS of the first half) or when any answer was not one of the expected ones.
// Why against the first half's highest RSS: how long RSS takes to settle depends on the runtime (Node 20 by minute 1,
// Node 24, whose V8 collects its old space later, by about 100 s), and RSS saws up and down with V8's collections
// (139 to 175 MiB within one Node 20 run), while a leak ends the run above anything it reached by half time. So it
// flags what grows by more than that swing plus 5 % in the second half, and never a runtime still settling at minute 1.
// Needs `npm run build` first (it runs dist/; SOAK_DIST=<dir> runs another build output).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import { stringify } from 'yaml';
import { signIn as signInThroughProvider } from '../bench/lib/sign-in.js';
import { freePort } from '../test/helpers/ports.js';
import { waitFor } from '../test/helpers/wait.js';

const DIST = process.env.SOAK_DIST ?? fileURLToPath(new URL('../dist', import.meta.url));
const { startDevProvider } = await import(join(DIST, 'demo/dev-provider.js'));
const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const HALF_TIME_SECONDS = SECONDS / 2;
const SAMPLE_SECONDS = Math.min(60, Math.max(5, SECONDS / 6));
const RSS_TOLERANCE = 0.05;
const MAIN_JS = join(DIST, 'src/main.js');
const USERS = ['alice', 'carol'];
const POOL_SIZE = 30;

const counts = new Map();
const unexpected = [];
const count = (what) => counts.set(what, (counts.get(what) ?? 0) + 1);
const fail = (what) => {
  count(`UNEXPECTED ${what}`);
  if (unexpected.length < 20) unexpected.push(what);
};

// The app: answers every request, echoes WebSocket messages.
const app = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.headers['x-forwarded-user'] ?? '-'}`));
});
const wss = new WebSocketServer({ server: app });
wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
await new Promise((resolve) => app.listen(0, '127.0.0.1', resolve));
const appUrl = `http://127.0.0.1:${app.address().port}`;

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const opsPort = await freePort();
const opsUrl = `http://127.0.0.1:${opsPort}`;
const provider = await startDevProvider({
  port: 0,
  clients: [
    {
      client_id: 'soak',
      client_secret: 'soak-client-secret-0123456789',
      redirect_uris: [`${url}/.auth/callback`],
      post_logout_redirect_uris: [`${url}/.auth/signed-out`],
    },
  ],
});

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-soak-'));
const configPath = join(dir, 'gatehouse.yaml');
writeFileSync(
  configPath,
  stringify({
    mode: 'cloud',
    listen: { host: '127.0.0.1', port },
    ops: { host: '127.0.0.1', port: opsPort },
    public_url: url,
    upstream: { url: appUrl },
    sso: { issuer: provider.issuer, client_id: 'soak', client_secret: 'soak-client-secret-0123456789', scopes: ['openid', 'profile', 'email', 'roles'] },
    session: { secrets: ['soak-session-secret-0123456789-abcdefghij'] },
    log: { level: 'warn', access: false },
  }),
);
const child = spawn(process.execPath, [MAIN_JS, 'start', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
const childLog = [];
child.stdout.setEncoding('utf8').on('data', (chunk) => childLog.push(...chunk.split('\n').filter(Boolean)));
child.stderr.setEncoding('utf8').on('data', (chunk) => childLog.push(`stderr: ${chunk}`));
let childExited = false;
child.once('exit', () => (childExited = true));

// ready, not only listening: until provider discovery is done, sign-ins answer 503
const ready = async () => {
  if (childExited) throw new Error(`gatehouse exited: ${childLog.join('\n')}`);
  const answer = await request(`${opsUrl}/readyz`).catch(() => undefined);
  await answer?.body.dump();
  return answer?.statusCode === 200;
};
await waitFor(ready, { timeoutMs: 10_000, intervalMs: 50, what: () => `gatehouse ready (${childLog.join('\n')})` });

const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 4_000 });

/** A full interactive sign-in through the provider's forms; resolves with the gatehouse session cookie value. */
async function signIn(user) {
  const cookie = await signInThroughProvider({
    user,
    startUrl: `${url}/.auth/start?rd=%2Fsoak&interactive=1`,
    sessionCookie: 'gatehouse_session',
    landing: '/soak',
  });
  return /(?:^|; )gatehouse_session=([^;]*)/.exec(cookie)?.[1];
}

// --- load ---
const sessions = [];
let running = true;
const until = Date.now() + SECONDS * 1000;

async function worker(name, step) {
  while (running && Date.now() < until) {
    try {
      await step();
    } catch (error) {
      fail(`${name}: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const pick = () => sessions[Math.floor(Math.random() * sessions.length)];

async function browse() {
  const session = pick();
  if (!session) return new Promise((resolve) => setTimeout(resolve, 50));
  const res = await request(`${url}/app/page?n=${Math.random()}`, {
    dispatcher,
    headers: { accept: 'application/json', cookie: `gatehouse_session=${session}` },
  });
  const body = await res.body.text();
  if (res.statusCode === 200 && body.startsWith('ok ') && body !== 'ok -') return count('browse 200');
  if (res.statusCode === 401 && !sessions.includes(session)) return count('browse 401 after logout');
  fail(`browse ${res.statusCode} ${body.slice(0, 80)}`);
}

async function signInStep() {
  const session = await signIn(USERS[Math.floor(Math.random() * USERS.length)]);
  count('sign-in');
  sessions.push(session);
  if (sessions.length > POOL_SIZE) await logout(sessions.shift());
}

async function logout(session) {
  // the app's own Sign out link: a same-origin navigation (anything else gets the confirmation page)
  const navigation = { accept: 'text/html', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
  const res = await request(`${url}/.auth/logout`, { dispatcher, headers: { ...navigation, cookie: `gatehouse_session=${session}` } });
  await res.body.dump();
  if (res.statusCode !== 302 || !String(res.headers.location).startsWith(provider.issuer)) return fail(`logout ${res.statusCode}`);
  const after = await request(`${url}/app`, { dispatcher, headers: { accept: 'application/json', cookie: `gatehouse_session=${session}` } });
  await after.body.dump();
  if (after.statusCode !== 401) return fail(`request after logout ${after.statusCode}`);
  count('logout');
}

async function flood() {
  const navigation = Math.random() < 0.5;
  const res = await request(`${url}/app/${Math.random()}`, {
    dispatcher,
    headers: navigation
      ? { accept: 'text/html', 'sec-fetch-mode': 'navigate', cookie: `gatehouse_session=forged${Math.random()}` }
      : { accept: 'application/json' },
  });
  await res.body.dump();
  if ((navigation && res.statusCode === 302) || (!navigation && res.statusCode === 401)) return count(`flood ${res.statusCode}`);
  fail(`flood ${res.statusCode}`);
}

async function websocket() {
  const session = pick();
  if (!session) return new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { cookie: `gatehouse_session=${session}` } });
    const timer = setTimeout(() => (socket.terminate(), reject(new Error('websocket timeout'))), 5_000);
    let left = 5;
    socket.once('open', () => socket.send('ping'));
    socket.on('message', (data) => {
      if (String(data) !== 'ping') return (clearTimeout(timer), socket.terminate(), reject(new Error(`websocket echo ${data}`)));
      if (--left > 0) return socket.send('ping');
      socket.close();
    });
    socket.once('close', () => (clearTimeout(timer), count('websocket session'), resolve()));
    socket.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      socket.terminate();
      if (res.statusCode === 401 && !sessions.includes(session)) return (count('websocket 401 after logout'), resolve());
      reject(new Error(`websocket ${res.statusCode}`));
    });
    socket.once('error', (error) => (clearTimeout(timer), reject(error)));
  });
}

// --- measurements of the gatehouse process ---
function measure() {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fds = readdirSync(`/proc/${child.pid}/fd`);
  let sockets = 0;
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${child.pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed while listing
    }
  }
  return { rssMb: Math.round(rssKb / 102.4) / 10, fds: fds.length, sockets };
}

const started = Date.now();
const samples = [];
const sample = (label) => {
  const m = { label, at: Math.round((Date.now() - started) / 1000), ...measure() };
  samples.push(m);
  const done = [...counts]
    .filter(([k]) => !k.startsWith('UNEXPECTED'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(`[${String(m.at).padStart(4)} s] ${label.padEnd(8)} rss ${m.rssMb} MiB  fds ${m.fds}  sockets ${m.sockets}  | ${done}`);
};

console.log(`soak: ${SECONDS} s against ${url} (provider ${provider.issuer}, app ${appUrl}), gatehouse pid ${child.pid}`);
sample('start');
for (let i = 0; i < 5; i++) sessions.push(await signIn(USERS[i % USERS.length]));
let halfTime;
const sampler = setInterval(() => sample('interval'), SAMPLE_SECONDS * 1000);
const halfTimer = setTimeout(() => (halfTime = measure()), HALF_TIME_SECONDS * 1000);

await Promise.all([
  ...Array.from({ length: 8 }, () => worker('browse', browse)),
  worker('sign-in', signInStep),
  ...Array.from({ length: 2 }, () => worker('flood', flood)),
  worker('websocket', websocket),
]);
running = false;
clearInterval(sampler);
clearTimeout(halfTimer);
await new Promise((resolve) => setTimeout(resolve, 500));
sample('end');

const end = samples.at(-1);
const firstHalf = [...samples.filter((s) => s.at <= HALF_TIME_SECONDS), ...(halfTime ? [halfTime] : [])];
const baseline = firstHalf.reduce((highest, s) => (s.rssMb > highest.rssMb ? s : highest));
const growth = (end.rssMb - baseline.rssMb) / baseline.rssMb;
const problems = [];
if (growth > RSS_TOLERANCE)
  problems.push(
    `RSS grew ${(growth * 100).toFixed(1)} % over the first half's highest (${baseline.rssMb} → ${end.rssMb} MiB), more than ${RSS_TOLERANCE * 100} %`,
  );
if (unexpected.length)
  problems.push(`unexpected answers (${[...counts].filter(([k]) => k.startsWith('UNEXPECTED')).reduce((n, [, v]) => n + v, 0)}): ${unexpected.join('; ')}`);
if (childExited) problems.push('gatehouse exited during the soak');
const errorLines = childLog.filter((line) => /"level":"(error|fatal)"|stderr:/.test(line));
if (errorLines.length) problems.push(`gatehouse logged ${errorLines.length} error lines, first: ${errorLines[0]}`);

console.log(
  `RSS highest in the first half (${HALF_TIME_SECONDS} s) ${baseline.rssMb} MiB, at end ${end.rssMb} MiB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %); warn lines logged: ${childLog.length}`,
);
console.log(problems.length ? `SOAK FAILED\n- ${problems.join('\n- ')}` : 'SOAK PASSED');

child.kill('SIGTERM');
await new Promise((resolve) => (childExited ? resolve() : child.once('exit', resolve)));
wss.close();
await new Promise((resolve) => app.close(resolve));
app.closeAllConnections();
await provider.close();
await dispatcher.close();
rmSync(dir, { recursive: true, force: true });
process.exit(problems.length ? 1 : 0);
