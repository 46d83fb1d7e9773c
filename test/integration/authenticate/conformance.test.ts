// OpenID Connect RP conformance: the OpenID Foundation's RP Basic/Config test IDs (plus forged-token cases)
// replayed against a misbehaving provider, each scenario breaking one thing, the real gatehouse signing in over
// real sockets. A full run writes build/conformance-results.json (untracked); scripts/standards-table.js --check
// compares it with the committed test/conformance-results.json, and --write copies it there and renders the table.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { waitUntilReady } from '../../helpers/cloud-stack.js';
import type { TestGatehouse } from '../../helpers/gatehouse-process.js';
import { generatedKeys } from '../../helpers/keys.js';
import { generateSigningKey, type MisbehavingProviderOptions, type Scenario, type SigningKey } from '../../helpers/misbehaving-provider.js';
import { attemptSignIn, startMisbehavingStack, type MisbehavingStack, type SignInAttempt } from '../../helpers/misbehaving-stack.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

const CLIENT_ID = 'conformance-rp';
const SESSION_COOKIE = 'gatehouse_session';
const RETURN_PATH = '/reports?x=1';
const RESULTS_FILE = new URL('../../../build/conformance-results.json', import.meta.url);

type Outcome = 'accepted' | 'refused';

interface ConformanceResult {
  id: string;
  provider_does: string;
  expected: Outcome;
  result: Outcome;
  /** What gatehouse answered: the callback's status, or the readiness state. */
  answer: string;
  /** For a refusal: the reason gatehouse logged. */
  reason?: string;
}

/** Declared order of the table; the results file is written only when every one of these ran. */
const CASES: ReadonlyArray<{ id: string; providerDoes: string; expected: Outcome }> = [
  { id: 'rp-response_type-code', providerDoes: 'Authorization Code flow, response_type=code with PKCE S256', expected: 'accepted' },
  { id: 'rp-token_endpoint-client_secret_basic', providerDoes: 'token endpoint with client_secret_basic', expected: 'accepted' },
  { id: 'rp-token_endpoint-client_secret_post', providerDoes: 'token endpoint with client_secret_post', expected: 'accepted' },
  { id: 'rp-token_endpoint-private_key_jwt', providerDoes: 'token endpoint with private_key_jwt (RS256 client assertion)', expected: 'accepted' },
  { id: 'rp-scope-userinfo-claims', providerDoes: 'email and profile claims only from userinfo', expected: 'accepted' },
  { id: 'rp-userinfo-bearer-header', providerDoes: 'userinfo accepts the access token only in the Authorization: Bearer header', expected: 'accepted' },
  { id: 'rp-id_token-sig-rs256', providerDoes: 'ID token signed RS256 with a kid', expected: 'accepted' },
  { id: 'rp-id_token-kid-absent-single-jwks', providerDoes: 'ID token without kid, one key at jwks_uri', expected: 'accepted' },
  { id: 'rp-discovery-openid-configuration', providerDoes: 'endpoints only from /.well-known/openid-configuration', expected: 'accepted' },
  { id: 'rp-discovery-jwks_uri-keys', providerDoes: 'signing keys only from jwks_uri', expected: 'accepted' },
  { id: 'rp-key-rotation-op-sign-key', providerDoes: 'switches to a new signing key published at jwks_uri', expected: 'accepted' },
  { id: 'id_token-aud-multiple-with-azp', providerDoes: 'ID token for several audiences with azp = client', expected: 'accepted' },
  { id: 'rp-id_token-issuer-mismatch', providerDoes: 'ID token iss is another issuer', expected: 'refused' },
  { id: 'rp-id_token-sub', providerDoes: 'ID token without sub', expected: 'refused' },
  { id: 'rp-id_token-aud', providerDoes: 'ID token aud is another client', expected: 'refused' },
  { id: 'rp-id_token-iat', providerDoes: 'ID token without iat', expected: 'refused' },
  { id: 'rp-id_token-bad-sig-rs256', providerDoes: 'ID token RS256 signature broken', expected: 'refused' },
  { id: 'rp-id_token-sig-none', providerDoes: 'unsigned ID token (alg none)', expected: 'refused' },
  { id: 'rp-id_token-kid-absent-multiple-jwks', providerDoes: 'ID token without kid, several keys at jwks_uri', expected: 'refused' },
  { id: 'rp-nonce-invalid', providerDoes: 'ID token nonce is not the one sent', expected: 'refused' },
  { id: 'rp-userinfo-bad-sub-claim', providerDoes: 'userinfo sub differs from the ID token sub', expected: 'refused' },
  { id: 'rp-discovery-issuer-not-matching-config', providerDoes: 'discovery issuer differs from the configured issuer', expected: 'refused' },
  { id: 'id_token-expired', providerDoes: 'ID token exp in the past', expected: 'refused' },
  { id: 'id_token-nonce-missing', providerDoes: 'ID token without nonce', expected: 'refused' },
  { id: 'id_token-aud-multiple-without-azp', providerDoes: 'ID token for several audiences without azp', expected: 'refused' },
  { id: 'id_token-hs256-public-key', providerDoes: "ID token HS256-signed with the provider's public key as secret", expected: 'refused' },
  { id: 'id_token-sig-none-advertised', providerDoes: 'advertises alg none in discovery, sends an unsigned ID token', expected: 'refused' },
  { id: 'id_token-hs256-advertised', providerDoes: 'advertises HS256 in discovery, signs with its public key as HMAC secret', expected: 'refused' },
  { id: 'id_token-kid-unknown', providerDoes: 'ID token kid not published at jwks_uri', expected: 'refused' },
  {
    id: 'private_key_jwt-unknown-key',
    providerDoes: 'token endpoint refuses a client assertion signed by a key it does not know (401 invalid_client)',
    expected: 'refused',
  },
  { id: 'pkce-verifier-mismatch', providerDoes: 'code bound to another PKCE challenge (token endpoint refuses)', expected: 'refused' },
  { id: 'code-replayed', providerDoes: 'authorization response carries an already redeemed code', expected: 'refused' },
  { id: 'rfc9207-iss-parameter-wrong', providerDoes: 'advertises RFC 9207; authorization response iss is another issuer', expected: 'refused' },
  { id: 'rfc9207-iss-parameter-missing', providerDoes: 'advertises RFC 9207; authorization response without iss', expected: 'refused' },
];

type Run = MisbehavingStack;
type Attempt = SignInAttempt;

describe('OpenID RP conformance against a misbehaving provider', () => {
  let upstream: RecordingUpstream;
  let keys: SigningKey[];
  let rotatedKey: SigningKey;
  const results = new Map<string, ConformanceResult>();

  beforeAll(async () => {
    upstream = await startUpstream();
    [keys, rotatedKey] = await Promise.all([Promise.all([generateSigningKey('key-1'), generateSigningKey('key-2')]), generateSigningKey('key-3')]);
  });

  afterAll(async () => {
    await upstream?.close();
    if (CASES.every((c) => results.has(c.id))) {
      const ordered = CASES.map((c) => results.get(c.id) as ConformanceResult);
      mkdirSync(new URL('.', RESULTS_FILE), { recursive: true });
      writeFileSync(RESULTS_FILE, `${JSON.stringify(ordered, null, 2)}\n`);
    }
  });

  /** Not waited for: the scenarios wait for readiness themselves, and one checks that it never comes. */
  function start(
    scenario: Scenario,
    sso: Record<string, unknown> = {},
    advertisedAlgs?: string[],
    provider: Partial<MisbehavingProviderOptions> = {},
  ): Promise<Run> {
    const config = { sso: { silent_reauth: false, ...sso } };
    return startMisbehavingStack({ keys, clientId: CLIENT_ID, provider: { scenario, advertisedAlgs, ...provider }, config, upstream, waitReady: false });
  }

  /** The client's private_key_jwt key (RSA) and what the provider has registered for it. */
  const CLIENT_KEY = (() => {
    const { privatePem, publicKey } = generatedKeys('rsa', { modulusLength: 2048 });
    return { pem: privatePem, publicJwk: publicKey.export({ format: 'jwk' }) as JWK };
  })();

  /** A protected deep link → sign-on page → /.auth/start → provider → /.auth/callback; returns the callback's answer. */
  async function attempt(run: Run): Promise<Attempt> {
    const client = new BrowserClient();
    const first = await client.navigate(`${run.url}${RETURN_PATH}`);
    expect(first.status).toBe(302);
    expect(first.location).toBe(`${run.url}/.auth/login?rd=${encodeURIComponent(RETURN_PATH)}`);
    return attemptSignIn(run, RETURN_PATH, client);
  }

  function record(id: string, result: Outcome, answer: string, reason?: string): void {
    const declared = CASES.find((c) => c.id === id);
    if (!declared) throw new Error(`undeclared case ${id}`);
    results.set(id, { id, provider_does: declared.providerDoes, expected: declared.expected, result, answer, ...(reason ? { reason } : {}) });
  }

  /** Accepted: 302 to the return path with a session cookie, and the upstream receives alice's identity. */
  async function expectAccepted(id: string, run: Run, signIn: Attempt): Promise<void> {
    const { client, callback } = signIn;
    const signedIn = callback.status === 302 && client.cookie(run.url, SESSION_COOKIE) !== undefined;
    if (signedIn) record(id, 'accepted', '302 to the return path, session created');
    else record(id, 'refused', String(callback.status), signInFailure(run.gatehouse));
    expect(callback.status).toBe(302);
    expect(callback.location).toBe(`${run.url}${RETURN_PATH}`);
    expect(client.cookie(run.url, SESSION_COOKIE)).toMatch(/.{20,}/);
    const before = upstream.requests.length;
    const landed = await client.navigate(callback.location as string);
    expect(landed.status).toBe(200);
    expect(landed.body).toBe('ok');
    expect(upstream.requests).toHaveLength(before + 1);
    const seen = upstream.requests.at(-1);
    expect(seen?.url).toBe(RETURN_PATH);
    const raw = seen?.rawHeaders ?? [];
    expect(headerValues(raw, 'x-forwarded-user')).toEqual(['alice']);
    expect(headerValues(raw, 'x-forwarded-email')).toEqual(['alice@example.test']);
    expect(headerValues(raw, 'x-forwarded-preferred-username')).toEqual(['alice']);
    expect(headerValues(raw, 'x-forwarded-roles')).toEqual(['admin']);
  }

  /** Refused: no session, an error page with `status`, nothing from the token in the page or the log, the log names `reason`. */
  async function expectRefused(id: string, run: Run, signIn: Attempt, status: number, reason: RegExp): Promise<void> {
    const { client, callback } = signIn;
    const failure = signInFailure(run.gatehouse);
    const refused = callback.status !== 302 && client.cookie(run.url, SESSION_COOKIE) === undefined;
    if (refused) record(id, 'refused', `${callback.status}, no session`, failure);
    else record(id, 'accepted', `${callback.status}, signed in`);
    expect(callback.status).toBe(status);
    expect(callback.headers['content-type']).toMatch(/^text\/html/);
    expect(callback.body).toContain('Sign-in failed');
    expect(callback.body).toContain(`href="/.auth/start?rd=${encodeURIComponent(RETURN_PATH)}&amp;interactive=1"`);
    expect(client.cookie(run.url, SESSION_COOKIE)).toBeUndefined();
    expect(failure).toMatch(reason);
    for (const secret of run.provider.issued) {
      expect(callback.body).not.toContain(secret);
      expect(run.gatehouse.logText()).not.toContain(secret);
    }
    expect(callback.body).not.toMatch(/eyJ/);
    const me = await client.api(`${run.url}/.auth/me`);
    expect(me.status).toBe(401);
  }

  async function scenario(
    id: string,
    name: Scenario,
    check: (run: Run, signIn: Attempt) => Promise<void>,
    sso?: Record<string, unknown>,
    advertisedAlgs?: string[],
    provider?: Partial<MisbehavingProviderOptions>,
  ): Promise<void> {
    const run = await start(name, sso, advertisedAlgs, provider);
    try {
      await waitUntilReady(run.gatehouse);
      await check(run, await attempt(run));
    } finally {
      await run.close();
    }
  }

  describe('accepted', () => {
    it('rp-response_type-code: the authorization request is a code flow with PKCE S256, state and nonce', async () => {
      await scenario('rp-response_type-code', 'default', async (run, signIn) => {
        const query = signIn.authorizeUrl.searchParams;
        expect(`${signIn.authorizeUrl.origin}${signIn.authorizeUrl.pathname}`).toBe(`${run.provider.issuer}/authorize`);
        expect(query.get('response_type')).toBe('code');
        expect(query.get('client_id')).toBe(CLIENT_ID);
        expect(query.get('redirect_uri')).toBe(`${run.url}/.auth/callback`);
        expect(query.get('code_challenge_method')).toBe('S256');
        expect(query.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(query.get('state')).toMatch(/.{16,}/);
        expect(query.get('nonce')).toMatch(/.{16,}/);
        expect(query.get('scope')?.split(' ')).toContain('openid');
        await expectAccepted('rp-response_type-code', run, signIn);
      });
    });

    it('rp-token_endpoint-client_secret_basic: the token request authenticates with HTTP Basic', async () => {
      await scenario('rp-token_endpoint-client_secret_basic', 'default', async (run, signIn) => {
        await expectAccepted('rp-token_endpoint-client_secret_basic', run, signIn);
        expect(run.provider.tokenRequests.map((r) => [r.authMethod, r.outcome])).toEqual([['client_secret_basic', 'issued']]);
      });
    });

    it('rp-token_endpoint-client_secret_post: the token request authenticates with the secret in the body', async () => {
      await scenario(
        'rp-token_endpoint-client_secret_post',
        'default',
        async (run, signIn) => {
          await expectAccepted('rp-token_endpoint-client_secret_post', run, signIn);
          expect(run.provider.tokenRequests.map((r) => [r.authMethod, r.outcome])).toEqual([['client_secret_post', 'issued']]);
        },
        { client_auth: 'client_secret_post' },
      );
    });

    it('rp-token_endpoint-private_key_jwt: the token request authenticates with a client assertion signed by sso.client_key', async () => {
      await scenario(
        'rp-token_endpoint-private_key_jwt',
        'default',
        async (run, signIn) => {
          await expectAccepted('rp-token_endpoint-private_key_jwt', run, signIn);
          expect(run.provider.tokenRequests.map((r) => [r.authMethod, r.outcome])).toEqual([['private_key_jwt', 'issued']]);
        },
        { client_auth: 'private_key_jwt', client_key: CLIENT_KEY.pem, client_secret: '' },
        undefined,
        { clientJwks: [CLIENT_KEY.publicJwk] },
      );
    });

    it('rp-scope-userinfo-claims: claims found only at userinfo reach the app', async () => {
      await scenario('rp-scope-userinfo-claims', 'default', async (run, signIn) => {
        const idToken = run.provider.issued.find((value) => value.startsWith('eyJ')) as string;
        const claims = JSON.parse(Buffer.from(idToken.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
        expect(claims.email).toBeUndefined();
        expect(signIn.authorizeUrl.searchParams.get('scope')).toBe('openid profile email');
        await expectAccepted('rp-scope-userinfo-claims', run, signIn);
      });
    });

    it('rp-userinfo-bearer-header: the access token goes to userinfo in the Authorization header', async () => {
      await scenario('rp-userinfo-bearer-header', 'default', async (run, signIn) => {
        await expectAccepted('rp-userinfo-bearer-header', run, signIn);
        expect(run.provider.userinfoAuthorizations).toHaveLength(1);
        expect(run.provider.userinfoAuthorizations[0]).toMatch(/^Bearer [A-Za-z0-9_-]{32}$/);
      });
    });

    it('rp-id_token-sig-rs256: an RS256 ID token signed with the published key signs the user in', async () => {
      await scenario('rp-id_token-sig-rs256', 'default', async (run, signIn) => {
        await expectAccepted('rp-id_token-sig-rs256', run, signIn);
      });
    });

    it('rp-id_token-kid-absent-single-jwks: no kid, one key published', async () => {
      await scenario('rp-id_token-kid-absent-single-jwks', 'rp-id_token-kid-absent-single-jwks', async (run, signIn) => {
        await expectAccepted('rp-id_token-kid-absent-single-jwks', run, signIn);
      });
    });

    it('rp-discovery-openid-configuration: every endpoint comes from the discovery document', async () => {
      await scenario('rp-discovery-openid-configuration', 'default', async (run, signIn) => {
        expect(signIn.authorizeUrl.href.startsWith(`${run.provider.issuer}/authorize?`)).toBe(true);
        await expectAccepted('rp-discovery-openid-configuration', run, signIn);
        expect(run.provider.tokenRequests).toHaveLength(1);
        expect(run.provider.userinfoAuthorizations).toHaveLength(1);
      });
    });

    it('rp-discovery-jwks_uri-keys: the verification key is fetched from jwks_uri', async () => {
      await scenario('rp-discovery-jwks_uri-keys', 'default', async (run, signIn) => {
        await expectAccepted('rp-discovery-jwks_uri-keys', run, signIn);
        expect(run.provider.jwksFetches()).toBe(1);
      });
    });

    it('rp-key-rotation-op-sign-key: after the provider rotates its key, gatehouse refetches jwks_uri and signs the user in', async () => {
      await scenario('rp-key-rotation-op-sign-key', 'default', async (run, first) => {
        expect(first.callback.status).toBe(302);
        expect(run.provider.jwksFetches()).toBe(1);
        run.provider.rotateSigningKey(rotatedKey);
        await expectAccepted('rp-key-rotation-op-sign-key', run, await attempt(run));
        expect(run.provider.jwksFetches()).toBe(2);
      });
    });

    it('several audiences with azp naming this client are accepted', async () => {
      await scenario('id_token-aud-multiple-with-azp', 'id_token-aud-multiple-with-azp', async (run, signIn) => {
        await expectAccepted('id_token-aud-multiple-with-azp', run, signIn);
      });
    });
  });

  describe('refused', () => {
    const invalid: ReadonlyArray<[string, Scenario, RegExp]> = [
      ['rp-id_token-issuer-mismatch', 'rp-id_token-issuer-mismatch', /unexpected JWT "iss" \(issuer\) claim value/],
      ['rp-id_token-sub', 'rp-id_token-sub', /JWT "sub" \(subject\) claim missing/],
      ['rp-id_token-aud', 'rp-id_token-aud', /unexpected JWT "aud" \(audience\) claim value/],
      ['rp-id_token-iat', 'rp-id_token-iat', /JWT "iat" \(issued at\) claim missing/],
      ['rp-id_token-bad-sig-rs256', 'rp-id_token-bad-sig-rs256', /ID token signature rejected: ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
      ['rp-id_token-sig-none', 'rp-id_token-sig-none', /unexpected JWT "alg" header parameter/],
      ['rp-id_token-kid-absent-multiple-jwks', 'rp-id_token-kid-absent-multiple-jwks', /ID token signature rejected: ERR_JWKS_MULTIPLE_MATCHING_KEYS/],
      ['rp-nonce-invalid', 'rp-nonce-invalid', /unexpected ID Token "nonce" claim value/],
      ['rp-userinfo-bad-sub-claim', 'rp-userinfo-bad-sub-claim', /unexpected "response" body "sub" property value/],
      ['id_token-expired', 'id_token-expired', /unexpected JWT "exp" \(expiration time\) claim value, expiration is past current timestamp/],
      ['id_token-nonce-missing', 'id_token-nonce-missing', /JWT "nonce" \(nonce\) claim missing/],
      ['id_token-aud-multiple-without-azp', 'id_token-aud-multiple-without-azp', /ID Token "aud" \(audience\) claim includes additional untrusted audiences/],
      ['id_token-hs256-public-key', 'id_token-hs256-public-key', /unexpected JWT "alg" header parameter/],
      ['id_token-kid-unknown', 'id_token-kid-unknown', /ID token signature rejected: ERR_JWKS_NO_MATCHING_KEY/],
      ['rfc9207-iss-parameter-wrong', 'iss-parameter-wrong', /unexpected "iss" \(issuer\) response parameter value/],
      ['rfc9207-iss-parameter-missing', 'iss-parameter-missing', /response parameter "iss" \(issuer\) missing/],
    ];
    for (const [id, name, reason] of invalid) {
      it(`${id}: 401, no session, the log names the reason`, async () => {
        await scenario(id, name, (run, signIn) => expectRefused(id, run, signIn, 401, reason));
      });
    }

    // The provider's metadata allows the algorithm, so only gatehouse's own allow-list (sso.id_token_algs) stands in the way.
    it('id_token-sig-none-advertised: alg none is refused even when the provider advertises it', async () => {
      await scenario(
        'id_token-sig-none-advertised',
        'rp-id_token-sig-none',
        (run, signIn) => expectRefused('id_token-sig-none-advertised', run, signIn, 401, /ID token signature rejected: ERR_JOSE_ALG_NOT_ALLOWED/),
        undefined,
        ['RS256', 'none'],
      );
    });

    it('id_token-hs256-advertised: HS256 keyed with the public key is refused even when the provider advertises HS256', async () => {
      await scenario(
        'id_token-hs256-advertised',
        'id_token-hs256-public-key',
        (run, signIn) => expectRefused('id_token-hs256-advertised', run, signIn, 401, /ID token signature rejected: ERR_JOSE_ALG_NOT_ALLOWED/),
        undefined,
        ['RS256', 'HS256'],
      );
    });

    it('the bad signature is caught by the signature check itself, not by a claim check', async () => {
      await scenario('rp-id_token-bad-sig-rs256', 'rp-id_token-bad-sig-rs256', async (run, signIn) => {
        expect(signIn.callback.status).toBe(401);
        expect(run.provider.tokenRequests.map((r) => r.outcome)).toEqual(['issued']);
        expect(run.provider.jwksFetches()).toBe(1);
        expect(run.provider.userinfoAuthorizations).toEqual([]);
      });
    });

    it('private_key_jwt-unknown-key: a client assertion signed by a key the provider does not know is refused at the token endpoint', async () => {
      const other = generatedKeys('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }) as JWK;
      await scenario(
        'private_key_jwt-unknown-key',
        'default',
        async (run, signIn) => {
          await expectRefused(
            'private_key_jwt-unknown-key',
            run,
            signIn,
            502,
            /^GH_PROVIDER_ERROR: provider refused: invalid_client \(client authentication failed\)/,
          );
          expect(run.provider.tokenRequests.map((r) => [r.authMethod, r.outcome])).toEqual([['none', 'invalid_client']]);
        },
        { client_auth: 'private_key_jwt', client_key: CLIENT_KEY.pem, client_secret: '' },
        undefined,
        { clientJwks: [other] },
      );
    });

    // sign-in.ts answers a code the provider refuses (invalid_grant) with 400: the sign-in attempt itself is spent.
    it('pkce-verifier-mismatch: the provider refuses the verifier at the token endpoint, gatehouse refuses the sign-in', async () => {
      await scenario('pkce-verifier-mismatch', 'pkce-verifier-mismatch', async (run, signIn) => {
        await expectRefused('pkce-verifier-mismatch', run, signIn, 400, /provider refused: invalid_grant \(PKCE verification failed\)/);
        expect(run.provider.tokenRequests.map((r) => r.outcome)).toEqual(['invalid_grant']);
      });
    });

    it('code-replayed: a code that was already redeemed is refused by the provider and by gatehouse', async () => {
      const run = await start('default');
      try {
        await waitUntilReady(run.gatehouse);
        expect((await attempt(run)).callback.status).toBe(302);
        run.provider.scenario = 'code-replayed';
        const replay = await attempt(run);
        await expectRefused('code-replayed', run, replay, 400, /provider refused: invalid_grant \(code already used\)/);
        expect(run.provider.tokenRequests.map((r) => r.outcome)).toEqual(['issued', 'invalid_grant']);
      } finally {
        await run.close();
      }
    });

    it('rp-discovery-issuer-not-matching-config: gatehouse does not become ready and /readyz says why', async () => {
      const run = await start('rp-discovery-issuer-not-matching-config');
      try {
        const failed = () => String(run.gatehouse.readiness.reasons().provider).startsWith('provider discovery failed');
        await waitFor(failed, { what: 'provider discovery failing' });
        const readyz = await fetch(`${run.gatehouse.opsUrl}/readyz`);
        expect(readyz.status).toBe(503);
        const body = (await readyz.json()) as { ready: boolean; waiting_for: Record<string, string> };
        expect(body.ready).toBe(false);
        expect(body.waiting_for.provider).toMatch(
          /^provider discovery failed: OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED: discovered metadata issuer does not match the expected issuer$/,
        );
        const client = new BrowserClient();
        const start503 = await client.navigate(`${run.url}/.auth/start?rd=%2F`);
        expect(start503.status).toBe(503);
        expect(client.cookie(run.url, SESSION_COOKIE)).toBeUndefined();
        record('rp-discovery-issuer-not-matching-config', 'refused', 'not ready: /readyz 503, /.auth/start 503', body.waiting_for.provider);
      } finally {
        await run.close();
      }
    });
  });
});

/** The `err` of gatehouse's last `sign-in failed` log line. */
function signInFailure(gatehouse: TestGatehouse): string {
  const line = gatehouse.logs.filter((entry) => entry.msg === 'sign-in failed').at(-1);
  return line ? String(line.err) : 'no sign-in failure logged';
}
