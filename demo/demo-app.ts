// The demo app that runs behind gatehouse: shows the identity headers it receives and has its own
// local login (its own cookie), like an unmodified app would. Plain node:http, no framework.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseCookies } from 'cookie';

export interface DemoApp {
  url: string;
  close(): Promise<void>;
}

export interface DemoAppOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** gatehouse's route prefix, for the sign-out link. */
  authPrefix?: string;
}

export interface DemoWhoami {
  user: string | null;
  email: string | null;
  name: string | null;
  roles: string[];
  localUser: string | null;
}

const SESSION_COOKIE = 'demo_session';
const MAX_FORM_BYTES = 8 * 1024;
const IDENTITY_HEADERS = [
  ['X-Forwarded-User', 'x-forwarded-user'],
  ['X-Forwarded-Email', 'x-forwarded-email'],
  ['X-Forwarded-Preferred-Username', 'x-forwarded-preferred-username'],
  ['X-Forwarded-Name', 'x-forwarded-name'],
  ['X-Forwarded-Roles', 'x-forwarded-roles'],
] as const;

export async function startDemoApp(opts: DemoAppOptions): Promise<DemoApp> {
  const authPrefix = opts.authPrefix ?? '/.auth';
  const localSessions = new Map<string, string>();
  const server = http.createServer((req, res) => {
    handle(req, res, authPrefix, localSessions).catch(() => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, authPrefix: string, localSessions: Map<string, string>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://demo.invalid');
  const sessionId = parseCookies(req.headers.cookie ?? '')[SESSION_COOKIE];
  const localUser = sessionId === undefined ? undefined : localSessions.get(sessionId);
  const method = req.method ?? 'GET';

  if (method === 'POST' && url.pathname === '/local-login') {
    const form = await readForm(req);
    const username = form.get('username')?.trim() ?? '';
    if (!username || !form.get('password')) {
      send(res, 400, 'text/html; charset=utf-8', loginPage(sameOriginPath(form.get('rd')), 'Enter a username and a password.'));
      return;
    }
    const id = randomBytes(24).toString('base64url');
    localSessions.set(id, username);
    res.setHeader('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`);
    redirect(res, sameOriginPath(form.get('rd')) ?? '/');
    return;
  }
  if (method === 'POST' && url.pathname === '/local-logout') {
    if (sessionId !== undefined) localSessions.delete(sessionId);
    res.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
    redirect(res, '/');
    return;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD, POST');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
    return;
  }
  if (url.pathname === '/healthz') {
    send(res, 200, 'text/plain; charset=utf-8', 'ok');
  } else if (url.pathname === '/api/whoami') {
    send(res, 200, 'application/json; charset=utf-8', JSON.stringify(whoami(req, localUser)));
  } else if (url.pathname === '/login.html') {
    send(res, 200, 'text/html; charset=utf-8', loginPage(sameOriginPath(url.searchParams.get('rd'))));
  } else {
    send(res, 200, 'text/html; charset=utf-8', homePage(req, localUser, authPrefix));
  }
}

function whoami(req: http.IncomingMessage, localUser: string | undefined): DemoWhoami {
  const name = header(req, 'x-forwarded-name');
  return {
    user: header(req, 'x-forwarded-user') ?? null,
    email: header(req, 'x-forwarded-email') ?? null,
    name: name === undefined ? null : percentDecode(name),
    roles: splitRoles(header(req, 'x-forwarded-roles')),
    localUser: localUser ?? null,
  };
}

function homePage(req: http.IncomingMessage, localUser: string | undefined, authPrefix: string): string {
  const user = header(req, 'x-forwarded-user');
  const rows = IDENTITY_HEADERS.map(([label, name]) => {
    const value = header(req, name);
    const shown = value === undefined ? '<span class="absent">absent</span>' : escapeHtml(name === 'x-forwarded-name' ? percentDecode(value) : value);
    return `<tr><th>${label}</th><td>${shown}</td></tr>`;
  });
  const assertion = header(req, 'x-gatehouse-assertion') === undefined ? 'absent' : 'present';
  rows.push(`<tr><th>X-Gatehouse-Assertion</th><td>${assertion}</td></tr>`);

  const status: string[] = [];
  if (user !== undefined) {
    const name = header(req, 'x-forwarded-name');
    status.push(`<p class="status">Signed in through gatehouse as <strong>${escapeHtml(name === undefined ? user : percentDecode(name))}</strong>.
<a class="button" href="${escapeHtml(`${authPrefix}/logout`)}">Sign out</a></p>`);
  }
  if (localUser !== undefined) {
    status.push(`<p class="status">Signed in with a local account: <strong>${escapeHtml(localUser)}</strong></p>
<form method="post" action="/local-logout"><button type="submit">Sign out of the local account</button></form>`);
  }
  if (status.length === 0) {
    status.push('<p class="status">Not signed in. <a href="/login.html">Sign in with a local account</a></p>');
  }
  return page(
    'Demo app',
    `<h1>Demo app</h1>
${status.join('\n')}
<h2>Identity headers received</h2>
<table>${rows.join('')}</table>
<p>Path requested: <code>${escapeHtml(req.url ?? '/')}</code></p>`,
  );
}

/** The page to return to after the local login (gatehouse's sign-on page passes it as `rd`): a same-origin path only. */
function sameOriginPath(rd: string | null | undefined): string | undefined {
  if (!rd || !rd.startsWith('/') || rd.startsWith('//') || rd.includes('\\')) return undefined;
  if ([...rd].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return undefined;
  return new URL(rd, 'http://demo.invalid').origin === 'http://demo.invalid' ? rd : undefined;
}

function loginPage(returnTo?: string, error?: string): string {
  return page(
    'Local sign-in',
    `<h1>Local sign-in</h1>
<p>The demo app's own login: any username and password work.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/local-login">
${returnTo ? `<input type="hidden" name="rd" value="${escapeHtml(returnTo)}">` : ''}
<label>Username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>`,
  );
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:2rem 1rem;background:#f6f7f9;color:#1f2328}
main{max-width:40rem;margin:0 auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:1.5rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid #e3e5e8;font-size:.95rem;overflow-wrap:anywhere}
th{width:45%;font-weight:600}.status .button{display:inline-block;margin-left:.25rem}.absent{color:#656d76}.error{color:#b00020}code{background:#f0f1f3;padding:.1rem .3rem;border-radius:3px}
label{display:block;margin:.6rem 0}input{display:block;width:100%;padding:.45rem;margin-top:.2rem;box-sizing:border-box}
button,.button{background:#2f6feb;color:#fff;border:0;border-radius:4px;padding:.45rem .9rem;font-size:.95rem;cursor:pointer;text-decoration:none}
@media (max-width:480px){body{padding:1rem .75rem}main{padding:1rem 1.25rem}}</style>
</head><body><main>${body}</main></body></html>`;
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    'content-length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function redirect(res: http.ServerResponse, location: string): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function splitRoles(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
}

function percentDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
