// Local mode: SSO is inactive, every request passes (identity headers already stripped); /.auth/login points at the app's own login.
import { FORWARD_WITHOUT_IDENTITY, type AccessControl, type RequestContext } from './access.js';
import type { Branding } from '../pages/render.js';
import { isNavigation, sendPage } from '../http/respond.js';

export interface LocalAccessOptions {
  /** local_login.paths: the first is where /.auth/login sends the browser ('/' without one). */
  localLoginPaths: readonly string[];
  branding: Branding;
}

export function createLocalAccess({ localLoginPaths, branding }: LocalAccessOptions): AccessControl {
  const localLoginPath = localLoginPaths[0] ?? '/';
  return {
    handleRoute(ctx: RequestContext, route: string): void {
      if (route === '/login') {
        ctx.res.writeHead(302, { location: localLoginPath, 'cache-control': 'no-store' }).end();
        return;
      }
      // a browser gets a page, not raw JSON
      if (isNavigation(ctx.req)) return sendPage(ctx.res, { kind: 'error', status: 404, requestId: ctx.requestId }, branding);
      const body = JSON.stringify({ error: 'sso_inactive', message: 'single sign-on is inactive (local mode)' });
      ctx.res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
    },
    admit: () => FORWARD_WITHOUT_IDENTITY,
    admitUpgrade: () => FORWARD_WITHOUT_IDENTITY,
  };
}
