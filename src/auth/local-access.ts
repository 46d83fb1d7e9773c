// Local mode: SSO is inactive, every request passes (identity headers already stripped); /.auth/login points at the app's own login.
import type { Config } from '../config/schema.js';
import type { AccessControl, Admission, RequestContext } from './access.js';

const NO_IDENTITY: Admission = [];

export function createLocalAccess(config: Config): AccessControl {
  const localLoginPath = config.local_login.paths[0] ?? '/';
  return {
    handleRoute(ctx: RequestContext, route: string): void {
      if (route === '/login') {
        ctx.res.writeHead(302, { location: localLoginPath, 'cache-control': 'no-store' }).end();
        return;
      }
      const body = JSON.stringify({ error: 'sso_inactive', message: 'single sign-on is inactive (local mode)' });
      ctx.res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
    },
    admit: () => NO_IDENTITY,
    admitUpgrade: () => NO_IDENTITY,
  };
}
