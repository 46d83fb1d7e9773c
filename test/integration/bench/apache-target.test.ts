// The bench's OIDC peer row: Apache + mod_auth_openidc signed in through the dev provider's forms, forwarding to a
// real upstream with identity headers; skipped with a note (never a crash) when the packages are missing.
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevProvider, type DevClient, type DevProvider } from '../../../demo/dev-provider.js';
import { freePort } from '../../helpers/ports.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

interface ApacheTarget {
  url: string;
  pid: number;
  note: string;
  headers?: Record<string, string>;
  start(): Promise<boolean>;
  stop(): Promise<void>;
}
interface ApacheTargetModule {
  apacheClient(port: number): DevClient;
  apacheTarget(upstream: { url: string }, options: { port: number; issuer: () => string; apache?: string; openidcModule?: string }): ApacheTarget;
}
const { apacheClient, apacheTarget } = (await import(new URL('../../../bench/lib/apache-target.js', import.meta.url).href)) as ApacheTargetModule;

const INSTALLED = existsSync('/usr/sbin/apache2') && existsSync('/usr/lib/apache2/modules/mod_auth_openidc.so');
const INSTALL = 'apt-get install -y apache2 libapache2-mod-auth-openidc';

describe('apache-openidc bench row without the packages', () => {
  it('is skipped with a note naming the missing package', async () => {
    const port = await freePort();
    const noApache = apacheTarget({ url: 'http://127.0.0.1:1' }, { port, issuer: () => 'http://127.0.0.1:2', apache: '/nonexistent/apache2' });
    expect(await noApache.start()).toBe(false);
    expect(noApache.note).toBe(`apache-openidc: skipped, apache2 is not installed (${INSTALL})`);

    const noModule = apacheTarget(
      { url: 'http://127.0.0.1:1' },
      { port, issuer: () => 'http://127.0.0.1:2', apache: process.execPath, openidcModule: '/nonexistent/mod_auth_openidc.so' },
    );
    expect(await noModule.start()).toBe(false);
    expect(noModule.note).toBe(`apache-openidc: skipped, libapache2-mod-auth-openidc is not installed (${INSTALL})`);
  });
});

describe.skipIf(!INSTALLED)('apache-openidc bench row', () => {
  let upstream: RecordingUpstream;
  let provider: DevProvider;
  let apache: ApacheTarget;

  beforeAll(async () => {
    upstream = await startUpstream();
    const port = await freePort();
    provider = await startDevProvider({ port: 0, clients: [apacheClient(port)] });
    apache = apacheTarget(upstream, { port, issuer: () => provider.issuer });
    expect(await apache.start()).toBe(true);
  });

  afterAll(async () => {
    await apache?.stop();
    await provider?.close();
    await upstream?.close();
  });

  it('signs in through the provider and forwards with the claims as headers, without its session cookie', async () => {
    expect(apache.headers?.cookie).toMatch(/^mod_auth_openidc_session=[\w-]+$/);
    const before = upstream.requests.length;
    const { statusCode, body } = await request(`${apache.url}/fixed`, { headers: { ...apache.headers, oidc_claim_sub: 'forged' } });
    expect({ statusCode, body: await body.text() }).toEqual({ statusCode: 200, body: 'ok' });

    const received = upstream.requests.slice(before);
    expect(received).toHaveLength(1);
    const raw = received[0]!.rawHeaders;
    expect(headerValues(raw, 'oidc_claim_sub')).toEqual(['alice']);
    expect(headerValues(raw, 'oidc_claim_email')).toEqual(['alice@example.test']);
    expect(headerValues(raw, 'oidc_claim_roles')).toEqual(['admin']);
    expect(headerValues(raw, 'cookie')).toEqual([]);
  });

  it('sends a browser without a session to the provider', async () => {
    const { statusCode, headers, body } = await request(`${apache.url}/fixed`, { headers: { accept: 'text/html' } });
    await body.dump();
    expect(statusCode).toBe(302);
    expect(new URL(String(headers.location)).origin).toBe(provider.issuer);
  });
});
