// Cloud mode's config read once into the narrow options each part takes: the handshake, the sessions and the
// internal routes never see the whole Config.
import type { BackchannelLogoutOptions } from './authenticate/backchannel-logout.js';
import type { LogoutOptions } from './authenticate/logout.js';
import type { ProviderOptions } from './authenticate/provider.js';
import type { SignInOptions } from './authenticate/sign-in.js';
import { AccessPolicy, policyClaimKeys } from './authorize/access-rules.js';
import type { ForwardAuthOptions } from './authorize/forward-auth.js';
import type { Config } from './config/schema.js';
import type { AssertionKeys } from './identity/assertion.js';
import { namesOnTheWire } from './identity/headers.js';
import { compileRolePolicy } from './identity/roles.js';
import { RouteUrls } from './route-urls.js';
import type { AuthRoutesOptions } from './routes.js';
import type { SessionsOptions } from './session/sessions.js';

export function routeUrlsOf(config: Config): RouteUrls {
  return new RouteUrls(config.routes.prefix, config.public_url);
}

function isSecure(config: Config): boolean {
  return new URL(config.public_url).protocol === 'https:';
}

export function providerOptions(config: Config, urls: RouteUrls): ProviderOptions {
  return { sso: config.sso, callbackUrl: urls.absolute('/callback') };
}

export function sessionsOptions(config: Config): SessionsOptions {
  const { session, roles, identity } = config;
  return {
    ttlMs: session.ttl,
    refreshBeforeMs: session.refresh_before,
    refreshIntervalMs: session.refresh_interval,
    hotSessions: session.hot_sessions,
    identityHeaders: namesOnTheWire(identity.headers),
    passAccessToken: identity.pass_access_token,
    roles: {
      policy: compileRolePolicy(roles),
      required: roles.required,
      fromUrl: roles.source === 'url' ? { url: roles.url, timeoutMs: config.sso.timeout } : undefined,
    },
    policyClaimKeys: policyClaimKeys(config.access.rules),
    offlineAccess: config.sso.scopes.includes('offline_access'),
  };
}

export function signInOptions(config: Config, urls: RouteUrls): SignInOptions {
  const { sso, local_login: local } = config;
  const localPath = local.paths[0];
  return {
    urls,
    secure: isSecure(config),
    silentReauth: sso.silent_reauth,
    skipSignOnPage: sso.skip_sign_on_page,
    providerLabel: sso.provider_label,
    localLogin: local.enabled && localPath !== undefined ? { path: localPath, label: local.label, returnParam: local.return_param } : undefined,
  };
}

export function logoutOptions(config: Config, urls: RouteUrls): LogoutOptions {
  return { urls, publicOrigin: new URL(config.public_url).origin, secure: isSecure(config), secrets: config.session.secrets };
}

export function backchannelLogoutOptions(config: Config): BackchannelLogoutOptions {
  return { clientId: config.sso.client_id, algorithms: config.sso.id_token_algs, timeoutMs: config.sso.timeout };
}

export function forwardAuthOptions(config: Config, urls: RouteUrls): ForwardAuthOptions {
  return {
    urls,
    trustProxy: config.trust_proxy,
    policy: new AccessPolicy(config),
    identityHeaders: namesOnTheWire(config.identity.headers),
    accessContact: config.roles.access_contact,
  };
}

export function authRoutesOptions(config: Config, urls: RouteUrls, assertionKeys: AssertionKeys | undefined): AuthRoutesOptions {
  return { urls, accessContact: config.roles.access_contact, assertionKeys };
}
