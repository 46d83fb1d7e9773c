// Back-channel logout over real sockets: the dev provider's own logout token after an RP-initiated logout at the
// provider, and logout tokens this test signs with the provider's key (passed to it), valid and invalid.
import { randomBytes, type KeyObject } from 'node:crypto';
import { decodeJwt, exportJWK, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { CLIENT_ID, startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { logoutAtProvider } from '../../helpers/dev-provider-flow.js';
import { sendRequest } from '../../helpers/gatehouse-process.js';
import { generatedKeys } from '../../helpers/keys.js';
import { apiWith, metricValue, SESSION_COOKIE } from '../../helpers/session-requests.js';
import { waitFor } from '../../helpers/wait.js';

const LOGOUT_EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };
const KID = 'backchannel-test';

interface SignedIn {
  client: BrowserClient;
  cookie: string;
  sid: string;
}

describe('back-channel logout', () => {
  let stack: CloudStack;
  let providerKey: KeyObject;
  let otherKey: KeyObject;

  beforeAll(async () => {
    const pair = generatedKeys('rsa', { modulusLength: 2048 });
    providerKey = pair.privateKey;
    otherKey = generatedKeys('rsa', { modulusLength: 2048 }).privateKey;
    const jwk = { ...(await exportJWK(pair.privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
    stack = await startCloudStack({ providerJwks: { keys: [jwk] } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /**
   * A live session and its provider sid: the first session's logout redirect carries the ID token (id_token_hint),
   * whose sid the provider keeps for this browser and client; a second sign-in in the same browser gets that sid too.
   */
  async function signedInWithSid(user: string): Promise<SignedIn> {
    const client = new BrowserClient();
    await stack.signIn(client, '/', user);
    const logout = await client.navigate(`${stack.url}/.auth/logout`);
    const hint = new URL(logout.location as string).searchParams.get('id_token_hint') as string;
    const sid = decodeJwt(hint).sid as string;
    const again = await client.follow(`${stack.url}/.auth/start?rd=%2F&interactive=1`);
    expect(again.final.status).toBe(200);
    const cookie = `${SESSION_COOKIE}=${client.cookie(stack.url, SESSION_COOKIE) as string}`;
    expect((await apiWith(`${stack.url}/api/check`, cookie)).status).toBe(200);
    return { client, cookie, sid };
  }

  function logoutToken(claims: JWTPayload, options: { key?: KeyObject; omit?: string[] } = {}): Promise<string> {
    const payload: JWTPayload = {
      iss: stack.provider.issuer,
      aud: CLIENT_ID,
      iat: Math.floor(Date.now() / 1000),
      jti: randomBytes(12).toString('hex'),
      events: LOGOUT_EVENT,
      ...claims,
    };
    for (const name of options.omit ?? []) delete payload[name];
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'logout+jwt' }).sign(options.key ?? providerKey);
  }

  function post(body: string, contentType = 'application/x-www-form-urlencoded') {
    return sendRequest(`${stack.url}/.auth/backchannel-logout`, { method: 'POST', headers: { 'content-type': contentType }, body });
  }
  const form = (token: string) => new URLSearchParams({ logout_token: token }).toString();

  it('an RP-initiated logout at the provider makes it POST a logout token; that session ends', async () => {
    const session = await signedInWithSid('carol');
    const ok = await metricValue(stack.gatehouse, 'gatehouse_backchannel_logouts_total', { outcome: 'ok' });
    const issuer = stack.provider.issuer.replace(/\/$/, '');
    const endPage = await session.client.navigate(`${issuer}/session/end`);
    await logoutAtProvider(session.client, endPage, 'yes');
    const took = await waitFor(async () => (await apiWith(`${stack.url}/api/check`, session.cookie)).status === 401, { timeoutMs: 3000 });
    expect(took).toBeLessThan(3000);
    expect(await metricValue(stack.gatehouse, 'gatehouse_backchannel_logouts_total', { outcome: 'ok' })).toBe(ok + 1);
    const line = stack.gatehouse.logs.find((entry) => entry.msg === 'back-channel logout' && entry.sid === session.sid);
    expect(line).toMatchObject({ sub: 'carol', ended: 1 });
  });

  it('a valid token with sid: 200 {ended: 1}, only that session ends', async () => {
    const target = await signedInWithSid('carol');
    const bystander = await signedInWithSid('carol');
    const res = await post(form(await logoutToken({ sid: target.sid, sub: 'carol' })));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ended: 1 });
    expect((await apiWith(`${stack.url}/api/check`, target.cookie)).status).toBe(401);
    expect((await apiWith(`${stack.url}/api/check`, bystander.cookie)).status).toBe(200);
  });

  it('a sub-only token ends every session of that subject', async () => {
    const one = await signedInWithSid('alice');
    const two = await signedInWithSid('alice');
    const other = await signedInWithSid('carol');
    const res = await post(form(await logoutToken({ sub: 'alice' })));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ended: 2 });
    expect((await apiWith(`${stack.url}/api/check`, one.cookie)).status).toBe(401);
    expect((await apiWith(`${stack.url}/api/check`, two.cookie)).status).toBe(401);
    expect((await apiWith(`${stack.url}/api/check`, other.cookie)).status).toBe(200);
  });

  it('refuses invalid requests with 400 invalid_request; the session keeps working', async () => {
    const session = await signedInWithSid('carol');
    const invalid = await metricValue(stack.gatehouse, 'gatehouse_backchannel_logouts_total', { outcome: 'invalid' });
    const sid = session.sid;
    const replayed = await logoutToken({ sid: 'no-such-sid', sub: 'carol' });
    const first = await post(form(replayed));
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ ended: 0 });

    const cases: Array<{ name: string; body: string; contentType?: string; description: RegExp }> = [
      {
        name: 'bad signature',
        body: form(await logoutToken({ sid }, { key: otherKey })),
        description: /^logout token is not signed by a provider key with an allowed algorithm$/,
      },
      { name: 'wrong iss', body: form(await logoutToken({ sid, iss: 'http://127.0.0.1:1' })), description: /"iss" claim/ },
      { name: 'wrong aud', body: form(await logoutToken({ sid, aud: 'another-client' })), description: /"aud" claim/ },
      { name: 'missing events', body: form(await logoutToken({ sid }, { omit: ['events'] })), description: /"events" claim/ },
      {
        name: 'events without the logout event',
        body: form(await logoutToken({ sid, events: { other: {} } })),
        description: /^events claim lacks the back-channel logout event$/,
      },
      { name: 'with a nonce', body: form(await logoutToken({ sid, nonce: 'n-1' })), description: /^logout token must not contain a nonce$/ },
      { name: 'missing jti', body: form(await logoutToken({ sid }, { omit: ['jti'] })), description: /"jti" claim/ },
      { name: 'missing iat', body: form(await logoutToken({ sid }, { omit: ['iat'] })), description: /"iat" claim/ },
      { name: 'replayed jti', body: form(replayed), description: /^logout token replayed \(jti already used\)$/ },
      { name: 'neither sid nor sub', body: form(await logoutToken({})), description: /^logout token has neither sid nor sub$/ },
      { name: 'not a JWT', body: form('not-a-jwt'), description: /./ },
      {
        name: 'two logout_token parameters',
        body: `${form(await logoutToken({ sid }))}&${form(await logoutToken({ sid }))}`,
        description: /^exactly one logout_token is required$/,
      },
      {
        name: 'wrong content type',
        body: JSON.stringify({ logout_token: await logoutToken({ sid }) }),
        contentType: 'application/json',
        description: /^request body must be application\/x-www-form-urlencoded, at most 64 KiB$/,
      },
      {
        name: 'oversized body',
        body: `${form(await logoutToken({ sid }))}&pad=${'x'.repeat(70 * 1024)}`,
        description: /^request body must be application\/x-www-form-urlencoded, at most 64 KiB$/,
      },
    ];
    for (const bad of cases) {
      const res = await post(bad.body, bad.contentType);
      expect(res.status, bad.name).toBe(400);
      const body = JSON.parse(res.body) as { error: string; error_description: string };
      expect(body.error, bad.name).toBe('invalid_request');
      expect(body.error_description, bad.name).toMatch(bad.description);
      expect((await apiWith(`${stack.url}/api/check`, session.cookie)).status, bad.name).toBe(200);
    }
    expect(await metricValue(stack.gatehouse, 'gatehouse_backchannel_logouts_total', { outcome: 'invalid' })).toBe(invalid + cases.length);
  });

  it("a forged logout token: the provider gets gatehouse's own description, jose's message is only logged", async () => {
    const session = await signedInWithSid('carol');
    const claims = (): JWTPayload => ({
      iss: stack.provider.issuer,
      aud: CLIENT_ID,
      iat: Math.floor(Date.now() / 1000),
      jti: randomBytes(12).toString('hex'),
      events: LOGOUT_EVENT,
      sid: session.sid,
    });
    const encoded = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const forged: Array<[string, string]> = [
      ['signed by another key', await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(otherKey)],
      ['a kid the provider does not publish', await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: 'forged' }).sign(otherKey)],
      ['HMAC-signed with a guessed secret', await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: KID }).sign(randomBytes(32))],
      ['unsigned (alg none)', `${encoded({ alg: 'none' })}.${encoded(claims())}.`],
      ['not a JWT', 'not-a-jwt'],
    ];
    for (const [name, token] of forged) {
      const seen = stack.gatehouse.logs.length;
      const res = await post(form(token));
      expect(res.status, name).toBe(400);
      const body = JSON.parse(res.body) as Record<string, unknown>;
      expect(Object.keys(body).sort(), name).toEqual(['error', 'error_description']);
      expect(body.error, name).toBe('invalid_request');
      expect(body.error_description, name).toMatch(/^logout token (is not signed by a provider key with an allowed algorithm|is not a signed JWT)$/);
      const refused = () => stack.gatehouse.logs.slice(seen).find((line) => line.msg === 'back-channel logout refused');
      await waitFor(() => refused() !== undefined, { what: `the refusal of ${name} logged` });
      const detail = String(refused()?.err);
      expect(detail, name).toMatch(/^ERR_J[A-Z_]+: /);
      for (const part of detail.split(/: |; /)) expect(res.body, name).not.toContain(part);
    }
    expect((await apiWith(`${stack.url}/api/check`, session.cookie)).status).toBe(200);
  });
});
