// Local mode: SSO is inactive, every request passes (identity headers already stripped); /.auth/login points at the app's own login.
import type { Config } from '../config/schema.js';
import type { AccessControl, Admission, RequestContext, UpgradeAdmission } from './access.js';
import { brandingOf } from '../pages/render.js';
import { isNavigation, sendPage } from '../http/respond.js';

const NO_IDENTITY: Admission = [];
const FORWARD_WITHOUT_IDENTITY: UpgradeAdmission = Object.freeze({ kind: 'forward', identity: NO_IDENTITY });

export function createLocalAccess(config: Config): AccessControl {
  const localLoginPath = config.local_login.paths[0] ?? '/';
  const branding = brandingOf(config.pages);
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
    admit: () => NO_IDENTITY,
    admitUpgrade: () => FORWARD_WITHOUT_IDENTITY,
  };
}
