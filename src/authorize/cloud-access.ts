// Cloud mode assembled: provider client, session store and cookie, sign-in routes, gate, signed assertion, metrics.
import { AccessPolicy } from './access-rules.js';
import { Authenticator } from './authentication.js';
import { BearerTokens } from './bearer.js';
import { ProviderTokenVerifier } from './bearer-verifier.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { AssertionKeyError, AssertionSigner, loadAssertionKeys, type AssertionKeys } from '../identity/assertion.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { Readiness } from '../ops/readiness.js';
import { createSessionStore, type ReadySessionStore } from '../session/create-store.js';
import { Sealer } from '../session/sealer.js';
import { SessionCookie } from '../session/session-cookie.js';
import type { AccessControl } from './access.js';
import { BackchannelLogout } from '../authenticate/backchannel-logout.js';
import { Gate, type GateOptions } from './gate.js';
import { brandingOf, type Branding } from '../pages/render.js';
import { PendingSignIns } from '../authenticate/pending-sign-in.js';
import { Provider, type ProviderObserver } from '../authenticate/provider.js';
import { PublicHost, targetOf } from '../http/public-host.js';
import { isNavigation, redirect } from '../http/respond.js';
import { AuthRoutes } from '../routes.js';
import type { Route } from '../route-urls.js';
import {
  authRoutesOptions,
  backchannelLogoutOptions,
  forwardAuthOptions,
  logoutOptions,
  providerOptions,
  routeUrlsOf,
  sessionsOptions,
  signInOptions,
} from '../cloud-options.js';
import { ForwardAuth } from './forward-auth.js';
import { Logout } from '../authenticate/logout.js';
import { Sessions } from '../session/sessions.js';
import { SignIn } from '../authenticate/sign-in.js';

const PENDING_SIGN_IN_TTL_MS = 10 * 60 * 1000;
const MAX_PENDING_SIGN_INS = 3;

export interface CloudAccessDeps {
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
}

/** `kept`: the generated key of the config before a reload, kept while none is configured (apps keep verifying). */
async function assertionSetup(
  config: Config,
  logger: Logger,
  kept: AssertionKeys | undefined,
): Promise<{ keys: AssertionKeys; signer: AssertionSigner } | undefined> {
  const { assertion } = config.identity;
  if (!assertion.enabled) return undefined;
  let keys: AssertionKeys;
  try {
    keys = assertion.keys.length === 0 && kept?.generated ? kept : await loadAssertionKeys(assertion.keys);
  } catch (error) {
    if (error instanceof AssertionKeyError) throw new ConfigError(error.problems.map((problem) => `identity.assertion.keys: ${problem}`));
    throw error;
  }
  if (keys.generated && keys !== kept) {
    logger.info(
      { kid: keys.current.kid },
      'assertion signing key generated at start (development only): configure identity.assertion.keys so every restart signs with the same key',
    );
  }
  const signer = new AssertionSigner({
    keys,
    issuer: new URL(config.public_url).origin,
    audience: assertion.audience || new URL(config.upstream.url).origin,
    ttlMs: assertion.ttl,
    maxEntries: config.session.hot_sessions,
    onError: (error) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'assertion signing failed'),
  });
  return { keys, signer };
}

/** Cloud-mode access control plus the long-lived parts a config reload can carry over. */
export interface CloudAccess extends AccessControl {
  readonly provider: Provider;
  readonly store: ReadySessionStore;
  /** The assertion keys in use (undefined: assertion off). */
  readonly assertionKeys: AssertionKeys | undefined;
  /** What the provider client was built from: a reload with the same value keeps the client (and its metadata). */
  readonly providerFingerprint: string;
  /** Closes the parts `successor` does not carry over (after a reload), or everything (no successor). */
  release(successor?: CloudAccess): Promise<void>;
}

/**
 * A provider client for changed `sso` settings, loaded before the reload goes ahead: when the provider does not
 * answer discovery with them, the reload is refused and the running client (and readiness) stay as they are.
 */
async function providerForReload(config: Config, logger: Logger, observer: ProviderObserver): Promise<Provider> {
  const trial = new Readiness();
  const provider = new Provider(providerOptions(config, routeUrlsOf(config)), { logger, readiness: trial, observer });
  await provider.start();
  if (provider.ready) return provider;
  provider.stop();
  throw new ConfigError([`sso: ${trial.reasons()['provider'] ?? 'provider metadata not loaded'} (new settings refused, the running provider client stays)`]);
}

function providerFingerprint(config: Config): string {
  return JSON.stringify([config.sso, config.public_url, config.routes.prefix]);
}

/** The parts a reload can carry over: the provider client, the assertion keys, the memory session store. */
interface LongLivedParts {
  provider: Provider;
  assertion: { keys: AssertionKeys; signer: AssertionSigner } | undefined;
  store: ReadySessionStore;
  sealer: Sealer;
  fingerprint: string;
}

/**
 * Builds cloud mode. With `previous` (a config reload), the memory session store is kept so nobody is signed
 * out, and the provider client is kept when the provider settings did not change. A Redis store is rebuilt so
 * rotated secrets seal new writes; the sessions themselves stay in Redis.
 */
export async function createCloudAccess(config: Config, deps: CloudAccessDeps, previous?: CloudAccess): Promise<CloudAccess> {
  const parts = await longLivedParts(config, deps, previous);
  const built = buildHandshake(config, deps, parts);
  // At start-up gatehouse listens while discovery retries (readiness says why); a reload's client is loaded already.
  if (!previous) void parts.provider.start();
  const { provider, store } = parts;
  const { gate } = built;
  const cloud: CloudAccess = {
    handleRoute: hostTrappedRoutes(built),
    admit: (ctx) => gate.admit(ctx),
    admitUpgrade: (ctx) => gate.admitUpgrade(ctx),
    filterCookie: ownCookieFilter(built),
    provider,
    store,
    assertionKeys: parts.assertion?.keys,
    providerFingerprint: parts.fingerprint,
    async release(successor?: CloudAccess): Promise<void> {
      if (successor?.provider !== provider) provider.stop();
      if (successor?.store !== store) await store.close();
    },
    close: () => cloud.release(),
  };
  return cloud;
}

async function longLivedParts(config: Config, { logger, metrics, readiness }: CloudAccessDeps, previous: CloudAccess | undefined): Promise<LongLivedParts> {
  const fingerprint = providerFingerprint(config);
  const urls = routeUrlsOf(config);
  const observer = { onRequest: (endpoint: string, seconds: number) => metrics.providerDuration.labels(endpoint).observe(seconds) };
  let provider: Provider;
  if (!previous) provider = new Provider(providerOptions(config, urls), { logger, readiness, observer });
  else if (previous.providerFingerprint === fingerprint) provider = previous.provider;
  else provider = await providerForReload(config, logger, observer);
  const assertion = await assertionSetup(config, logger, previous?.assertionKeys);
  const sealer = new Sealer(config.session.secrets);
  let store: ReadySessionStore;
  if (previous && config.session.store === 'memory') {
    store = previous.store;
  } else {
    if (config.session.store === 'redis' && !previous) readiness.block('session-store', 'Redis not connected yet');
    store = await createSessionStore(config, {
      sealer,
      logger,
      onReadyChange: (ready) => (ready ? readiness.unblock('session-store') : readiness.block('session-store', 'Redis unreachable')),
      onError: (kind) => metrics.redisErrors.labels(kind).inc(),
    });
  }
  metrics.observeSessions(() => store.size);
  return { provider, assertion, store, sealer, fingerprint };
}

/** What each config builds anew over the long-lived parts: the session cookie, the sign-in handshake, the routes and the gate. */
function buildHandshake(config: Config, { logger, metrics }: CloudAccessDeps, { provider, assertion, store, sealer }: LongLivedParts) {
  const secure = new URL(config.public_url).protocol === 'https:';
  const branding = brandingOf(config.pages);
  const urls = routeUrlsOf(config);
  const cookie = new SessionCookie({
    secrets: config.session.secrets,
    name: config.session.cookie_name,
    secure,
    maxAgeMs: config.session.ttl,
    rememberVerified: config.session.hot_sessions,
  });
  const sessions = new Sessions(sessionsOptions(config), store, cookie, provider, assertion?.signer, {
    logger,
    events: {
      refresh: (outcome) => metrics.refreshes.labels(outcome).inc(),
      cookieRejected: (reason) => metrics.cookiesRejected.labels(reason).inc(),
    },
  });
  const pending = new PendingSignIns(sealer, { path: urls.base, secure, ttlMs: PENDING_SIGN_IN_TTL_MS, maxPending: MAX_PENDING_SIGN_INS });
  const signIn = new SignIn(signInOptions(config, urls), provider, pending, sessions, branding, {
    logger,
    events: {
      started: (silent) => metrics.signInsStarted.labels(String(silent)).inc(),
      completed: (silent) => metrics.signInsCompleted.labels(String(silent)).inc(),
      failed: (reason) => metrics.signInsFailed.labels(reason).inc(),
      silentFallback: (error) => metrics.silentReauthFallbacks.labels(error).inc(),
    },
  });
  const backchannel = new BackchannelLogout(backchannelLogoutOptions(config), provider, store, {
    logger,
    onLogout: (outcome) => metrics.backchannelLogouts.labels(outcome).inc(),
  });
  const bearer = config.bearer.enabled
    ? new BearerTokens(config, { verifier: new ProviderTokenVerifier(config, provider), signer: assertion?.signer, logger })
    : undefined;
  const authenticator = new Authenticator(sessions, bearer);
  // forward-auth applies the gate's rules to the same authenticator
  const forwardAuth = new ForwardAuth(forwardAuthOptions(config, urls), authenticator, { logger });
  const logout = new Logout(logoutOptions(config, urls), provider, sessions, signIn, branding, { logger });
  const routes = new AuthRoutes(authRoutesOptions(config, urls, assertion?.keys), { signIn, logout, backchannel, forwardAuth, sessions }, branding);
  const publicHost = new PublicHost(config.public_url, config.trust_proxy, logger);
  const gate = new Gate(gateOptions(config, branding, publicHost), authenticator);
  return { cookie, pending, routes, publicHost, gate, urls };
}

function gateOptions(config: Config, branding: Branding, publicHost: PublicHost): GateOptions {
  return {
    policy: new AccessPolicy(config),
    localLogin: config.local_login,
    corsPreflight: config.cors_preflight,
    urls: routeUrlsOf(config),
    bearer: config.bearer.enabled,
    accessContact: config.roles.access_contact,
    branding,
    publicHost,
  };
}

type Handshake = ReturnType<typeof buildHandshake>;

/**
 * The internal routes. The sign-on page and /start on another host than public_url's would begin a sign-in whose
 * cookies the callback cannot see: a navigation there goes to the same route on public_url first (forward-auth and
 * the other routes answer on any host).
 */
function hostTrappedRoutes({ routes, publicHost, urls }: Handshake): CloudAccess['handleRoute'] {
  const trapped = new Set(['/login', '/start']);
  return (ctx, route) => {
    if (trapped.has(route) && isNavigation(ctx.req)) {
      const elsewhere = publicHost.redirectFor(ctx.req, targetOf(urls.path(route as Route), ctx.req.url));
      if (elsewhere !== undefined) return redirect(ctx.res, elsewhere);
    }
    return routes.handle(ctx, route);
  };
}

/** Removes gatehouse's own cookies (session, returning marker, pending sign-ins) from a Cookie header for the app. */
function ownCookieFilter({ cookie, pending }: Handshake): (value: string) => string {
  const ownCookie = (name: string): boolean => name === cookie.name || name === SignIn.returningCookie || pending.isPendingCookie(name);
  const marker = 'gatehouse_';
  return (value) => {
    if (!value.includes(marker) && !value.includes(cookie.name)) return value;
    return value
      .split(';')
      .filter((pair) => {
        const eq = pair.indexOf('=');
        return !ownCookie((eq === -1 ? pair : pair.slice(0, eq)).trim());
      })
      .join(';')
      .trim();
  };
}
