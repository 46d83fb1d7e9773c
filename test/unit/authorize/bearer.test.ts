// The bearer token cache with a counting verifier: a token seen within cache_ttl costs no check, never past its exp;
// the cache is keyed by a hash, so the token itself is held by nobody but the verifier.
import { describe, expect, it } from 'vitest';
import { BearerTokens, bearerTokenOf, type TokenVerifier, type VerifiedToken } from '../../../src/authorize/bearer.js';
import { configSchema } from '../../../src/config/schema.js';
import { TokenInvalidError } from '../../../src/errors.js';
import { createLogger } from '../../../src/ops/logger.js';

const T0 = 1_800_000_000_000;

class CountingVerifier implements TokenVerifier {
  calls = 0;
  constructor(private readonly answer: (token: string) => VerifiedToken) {}
  async verify(token: string): Promise<VerifiedToken> {
    this.calls++;
    if (token.startsWith('bad')) throw new TokenInvalidError('bad');
    return this.answer(token);
  }
}

function setup(options: { cacheTtl?: string; expiresAt?: number; roles?: Record<string, unknown> } = {}) {
  let now = T0;
  const config = configSchema.parse({ mode: 'local', bearer: { cache_ttl: options.cacheTtl ?? '60s' }, roles: options.roles ?? {} });
  const verifier = new CountingVerifier((token) => ({
    claims: { sub: `user-of-${token}`, roles: ['reader'], email: 'a@b.example' },
    expiresAt: options.expiresAt ?? T0 + 3600_000,
  }));
  const tokens = new BearerTokens(config, { verifier, now: () => now });
  return { tokens, verifier, advance: (ms: number) => (now += ms) };
}

describe('BearerTokens', () => {
  it('a token seen within cache_ttl is answered from the cache, synchronously, without a check', async () => {
    const { tokens, verifier, advance } = setup();
    const first = await tokens.authenticate('tok-1');
    expect(first.identity).toEqual(['x-forwarded-user', 'user-of-tok-1', 'x-forwarded-email', 'a@b.example', 'x-forwarded-roles', 'reader']);
    expect(verifier.calls).toBe(1);
    advance(59_999);
    const again = tokens.authenticate('tok-1');
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ identity: first.identity, subject: { roles: ['reader'], email: 'a@b.example' } });
    expect(verifier.calls).toBe(1);
    advance(1);
    await tokens.authenticate('tok-1');
    expect(verifier.calls).toBe(2);
  });

  it('never trusts a cached token past its exp, even within cache_ttl', async () => {
    const { tokens, verifier, advance } = setup({ expiresAt: T0 + 10_000 });
    await tokens.authenticate('tok-2');
    advance(9_999);
    tokens.authenticate('tok-2');
    expect(verifier.calls).toBe(1);
    advance(1);
    await tokens.authenticate('tok-2');
    expect(verifier.calls).toBe(2);
  });

  it('another token is checked on its own; a bad token is not cached', async () => {
    const { tokens, verifier } = setup();
    await tokens.authenticate('tok-a');
    await tokens.authenticate('tok-b');
    expect(verifier.calls).toBe(2);
    await expect(tokens.authenticate('bad-1')).rejects.toMatchObject({ code: 'GH_TOKEN_INVALID' });
    await expect(tokens.authenticate('bad-1')).rejects.toMatchObject({ code: 'GH_TOKEN_INVALID' });
    expect(verifier.calls).toBe(4);
    expect(() => tokens.authenticate('')).toThrow(TokenInvalidError);
  });

  it('a refused token is logged at debug with the failed check, never the token', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    const config = configSchema.parse({ mode: 'local' });
    const tokens = new BearerTokens(config, { verifier: new CountingVerifier(() => ({ claims: {}, expiresAt: 0 })), logger });
    await expect(tokens.authenticate('bad-secret-token-value')).rejects.toMatchObject({ code: 'GH_TOKEN_INVALID' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 'debug', msg: 'bearer token refused', reason: 'bad' });
    expect(lines[0]).not.toContain('secret-token-value');
  });

  it("roles come from the token through roles.map like a session's", async () => {
    const { tokens } = setup({ roles: { map: { reader: ['viewer', 'auditor'] } } });
    const principal = await tokens.authenticate('tok-3');
    expect(principal.subject.roles).toEqual(['viewer', 'auditor']);
  });
});

describe('bearerTokenOf', () => {
  it('reads the Bearer scheme case-insensitively; other schemes are not bearer; a malformed token is empty', () => {
    expect(bearerTokenOf('Bearer abc.def-_~+/=')).toBe('abc.def-_~+/=');
    expect(bearerTokenOf('bearer   abc')).toBe('abc');
    expect(bearerTokenOf('Basic dXNlcjpwdw==')).toBeUndefined();
    expect(bearerTokenOf(undefined)).toBeUndefined();
    expect(bearerTokenOf('Bearer a b')).toBe('');
    expect(bearerTokenOf('Bearer ')).toBe('');
  });
});
