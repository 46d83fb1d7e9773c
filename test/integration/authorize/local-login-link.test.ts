// The "Use local account" link on the sign-on and declined pages: it keeps the page the user asked for (the same
// return-URL check as rd, passed as local_login.return_param), and its label comes from local_login.label.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { parseLinks } from '../../helpers/dev-provider-flow.js';

describe('local account link', () => {
  let labelled: CloudStack;
  let custom: CloudStack;
  let none: CloudStack;
  beforeAll(async () => {
    [labelled, custom, none] = await Promise.all([
      startCloudStack({ config: { local_login: { enabled: true, paths: ['/signin.html', '/other'], label: 'Staff login' } } }),
      startCloudStack({ config: { local_login: { enabled: true, paths: ['/signin.html'], return_param: 'next' } } }),
      startCloudStack({ config: { local_login: { enabled: true, paths: ['/signin.html'], return_param: '' } } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([labelled?.close(), custom?.close(), none?.close()]);
  });

  const localLink = async (stack: CloudStack, path: string): Promise<{ href: string; text: string } | undefined> => {
    const client = new BrowserClient();
    const shown = await client.follow(`${stack.url}${path}`);
    expect(shown.final.status).toBe(200);
    return parseLinks(shown.final.body, shown.final.url).find((link) => !new URL(link.href).pathname.startsWith('/.auth/'));
  };

  it('a deep link reaches the sign-on page, whose local link carries it as rd and the configured label', async () => {
    expect(await localLink(labelled, '/projects/42?tab=files')).toEqual({
      href: `${labelled.url}/signin.html?rd=${encodeURIComponent('/projects/42?tab=files')}`,
      text: 'Staff login',
    });
  });

  it('the return page goes through the rd check: another origin falls back to /, and / adds no parameter', async () => {
    for (const rd of ['//evil.example/x', '/\\evil.example', 'https://evil.example/', '/%0d%0aSet-Cookie:x', '/']) {
      expect(await localLink(labelled, `/.auth/login?rd=${encodeURIComponent(rd)}`)).toEqual({ href: `${labelled.url}/signin.html`, text: 'Staff login' });
    }
    expect(await localLink(labelled, `/.auth/login?rd=${encodeURIComponent('/a/./b/../c?x=1#f')}`)).toEqual({
      href: `${labelled.url}/signin.html?rd=${encodeURIComponent('/a/c?x=1#f')}`,
      text: 'Staff login',
    });
  });

  it('local_login.return_param names the parameter; empty passes none; no label gives "Use local account"', async () => {
    expect(await localLink(custom, '/projects/42')).toEqual({ href: `${custom.url}/signin.html?next=%2Fprojects%2F42`, text: 'Use local account' });
    expect(await localLink(none, '/projects/42')).toEqual({ href: `${none.url}/signin.html`, text: 'Use local account' });
  });

  it('the declined page offers the same link with the page the user asked for', async () => {
    const client = new BrowserClient();
    const { landed } = await labelled.signIn(client, '/projects/42', 'carol', 'decline');
    expect(landed.status).toBe(200);
    expect(landed.body).toContain('You declined access');
    expect(parseLinks(landed.body, landed.url).at(-1)).toEqual({ href: `${labelled.url}/signin.html?rd=%2Fprojects%2F42`, text: 'Staff login' });
  });
});
