// Start-up hints: valid cloud configs that are most likely a deployment mistake.
import { describe, expect, it } from 'vitest';
import { cloudConfigHints } from '../../../src/config/hints.js';
import { validateConfig } from '../../../src/config/load.js';

function cloud(publicUrl: string, scopes: string[]): ReturnType<typeof validateConfig> {
  return validateConfig({
    mode: 'cloud',
    public_url: publicUrl,
    sso: { issuer: 'https://idp.example', client_id: 'app', client_secret: 's', scopes },
    session: { secrets: ['x'.repeat(32)] },
  });
}

describe('cloudConfigHints', () => {
  it('says nothing for an https public_url with offline_access', () => {
    expect(cloudConfigHints(cloud('https://app.example.com', ['openid', 'offline_access']))).toEqual([]);
  });

  it('warns about an http public_url that is not loopback, and about missing offline_access', () => {
    expect(cloudConfigHints(cloud('http://app.example.com', ['openid']))).toEqual([
      'public_url is http: the session cookie is not Secure and redirect_uri is http; behind TLS offload set public_url to the https URL users see',
      'sso.scopes has no offline_access: unless the provider issues refresh tokens anyway, roles and claims are read only at sign-in',
    ]);
  });

  it('accepts http on loopback (development)', () => {
    expect(cloudConfigHints(cloud('http://127.0.0.1:8080', ['openid', 'offline_access']))).toEqual([]);
  });
});
