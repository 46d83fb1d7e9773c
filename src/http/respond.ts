// Writing gatehouse's own answers: pages, JSON, redirects; every one no-store.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderErrorJson, renderPage, type Branding, type PageModel } from '../pages/render.js';
import { wantsJson } from './accept.js';

export function sendPage(res: ServerResponse, model: PageModel, branding: Branding, setCookies?: readonly string[]): void {
  const page = renderPage(model, branding);
  const headers: Record<string, string | string[]> = { ...page.headers };
  if (setCookies?.length) headers['set-cookie'] = [...setCookies];
  res.writeHead(page.status, headers).end(res.req.method === 'HEAD' ? undefined : page.body);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...extraHeaders })
    .end(res.req.method === 'HEAD' ? undefined : JSON.stringify(body));
}

export function redirect(res: ServerResponse, location: string, setCookies?: readonly string[]): void {
  const headers: Record<string, string | string[]> = { location, 'cache-control': 'no-store' };
  if (setCookies?.length) headers['set-cookie'] = [...setCookies];
  res.writeHead(302, headers).end();
}

/** 401 for a request without a valid session: JSON naming the sign-on page, and a challenge in WWW-Authenticate. */
export function sendUnauthenticated(res: ServerResponse, loginPath: string, extraHeaders: Record<string, string> = {}): void {
  sendJson(
    res,
    401,
    { error: 'unauthenticated', login: loginPath },
    { 'www-authenticate': `Session realm="gatehouse", login_url="${loginPath}"`, ...extraHeaders },
  );
}

/** 403 for an API request of a signed-in user without an app role (navigations get the no-access page). */
export function sendNoAccessJson(res: ServerResponse, accessContact: string): void {
  sendJson(res, 403, { error: 'no_access', message: "You don't have access to this app", access_contact: accessContact || undefined });
}

/** An error as an HTML page or JSON, whichever the client prefers. */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  model: Extract<PageModel, { kind: 'error' }>,
  code: string,
  branding: Branding,
  setCookies?: readonly string[],
): void {
  if (wantsJson(req.headers.accept)) {
    const json = renderErrorJson(model.status, model.requestId, code);
    const headers: Record<string, string | string[]> = { ...json.headers };
    if (setCookies?.length) headers['set-cookie'] = [...setCookies];
    res.writeHead(json.status, headers).end(json.body);
    return;
  }
  sendPage(res, model, branding, setCookies);
}

/** A browser navigation (as opposed to fetch/XHR/API calls): GET or HEAD that wants HTML. */
export function isNavigation(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const mode = req.headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('text/html');
}
