// An app behind gatehouse, in Node: read the identity headers, verify the signed assertion with jose.
// Works with any framework that exposes Node's lower-cased `req.headers` (node:http, Express, Fastify).
import { URL } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';

/**
 * The signed-in user from gatehouse's headers, or undefined for a request without a session
 * (a public path). Every value is percent-encoded UTF-8; roles are comma-separated, each encoded.
 */
export function userFromHeaders(headers) {
  const read = (name) => {
    const value = headers[name];
    return typeof value === 'string' && value !== '' ? decodeURIComponent(value) : undefined;
  };
  const sub = read('x-forwarded-user');
  if (sub === undefined) return undefined;
  const roles = headers['x-forwarded-roles'];
  return {
    sub,
    email: read('x-forwarded-email'),
    username: read('x-forwarded-preferred-username'),
    name: read('x-forwarded-name'),
    roles: typeof roles === 'string' && roles !== '' ? roles.split(',').map(decodeURIComponent) : [],
  };
}

/**
 * A verifier for X-Gatehouse-Assertion. `jwksUrl`: gatehouse's /.auth/jwks.json (keys are cached and
 * re-fetched when an unknown kid shows up); `issuer`: gatehouse's public URL origin; `audience`: this
 * app's origin as gatehouse sees it (identity.assertion.audience, default the upstream URL's origin).
 */
export function assertionVerifier({ jwksUrl, issuer, audience }) {
  const keys = createRemoteJWKSet(new URL(jwksUrl));
  return async function verifiedUser(headers) {
    const token = headers['x-gatehouse-assertion'];
    if (typeof token !== 'string') throw new Error('no identity assertion: the request did not come through gatehouse');
    const { payload } = await jwtVerify(token, keys, { issuer, audience, algorithms: ['ES256'] });
    return { sub: payload.sub, email: payload.email, username: payload.preferred_username, name: payload.name, roles: payload.roles ?? [] };
  };
}
