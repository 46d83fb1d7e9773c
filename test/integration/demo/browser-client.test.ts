import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, CookieJar } from '../../helpers/browser-client.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** A server whose routes answer with the status, Location and Set-Cookie given in the query. */
async function startScriptedServer(seen: Seen[]): Promise<{ origin: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const headers: Record<string, string | string[]> = {};
    if (query.get('location')) headers.location = query.get('location') ?? '';
    if (query.getAll('set').length) headers['set-cookie'] = query.getAll('set');
    res.writeHead(Number(query.get('status') ?? 200), headers).end(`page ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('BrowserClient', () => {
  const seen: Seen[] = [];
  let a: { origin: string; close(): Promise<void> };
  let b: { origin: string; close(): Promise<void> };

  beforeAll(async () => {
    a = await startScriptedServer(seen);
    b = await startScriptedServer(seen);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('navigates like a browser and calls APIs like fetch() from the page', async () => {
    const client = new BrowserClient();
    seen.length = 0;
    await client.navigate(`${a.origin}/page`);
    await client.api(`${a.origin}/api`);
    await client.api(`${b.origin}/api`, { json: { x: 1 } });
    await client.close();
    expect(seen[0]?.headers).toMatchObject({
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
      'sec-fetch-site': 'none',
    });
    expect(seen[0]?.headers.origin).toBeUndefined();
    expect(seen[1]?.headers).toMatchObject({ accept: 'application/json', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'same-origin' });
    expect(seen[1]?.headers.origin).toBeUndefined();
    expect(seen[2]?.method).toBe('POST');
    expect(seen[2]?.headers).toMatchObject({ 'sec-fetch-site': 'same-site', origin: a.origin, 'content-type': 'application/json' });
  });

  it('follows redirects across origins, turns 303 into GET and stops where asked', async () => {
    const client = new BrowserClient();
    seen.length = 0;
    const toB = `${b.origin}/landing?status=200`;
    const viaA = `${a.origin}/hop?status=303&location=${encodeURIComponent(toB)}`;
    const { final, chain } = await client.follow(viaA, { form: { q: '1' } });
    expect(chain.map((r) => r.status)).toEqual([303, 200]);
    expect(final.url).toBe(toB);
    expect(final.body).toBe('page /landing?status=200');
    expect(seen.map((s) => s.method)).toEqual(['POST', 'GET']);

    const stopped = await client.follow(viaA, {}, { stopAt: (url) => url.origin === b.origin });
    expect(stopped.chain).toHaveLength(1);
    expect(stopped.final.location).toBe(toB);

    let fiveHops = `${a.origin}/end`;
    for (let hop = 0; hop < 5; hop++) fiveHops = `${a.origin}/hop${hop}?status=302&location=${encodeURIComponent(fiveHops)}`;
    await expect(client.follow(fiveHops, {}, { maxRedirects: 3 })).rejects.toThrow(`more than 3 redirects from ${fiveHops}`);
    expect((await client.follow(fiveHops, {}, { maxRedirects: 5 })).final.url).toBe(`${a.origin}/end`);
    await client.close();
  });

  it('keeps cookies per host like a browser: path, Max-Age deletion, __Host- rules', async () => {
    const client = new BrowserClient();
    seen.length = 0;
    const set = (...cookies: string[]) => cookies.map((c) => `set=${encodeURIComponent(c)}`).join('&');
    await client.navigate(
      `${a.origin}/app/start?${set('root=1; Path=/', 'scoped=2; Path=/app', '__Host-ok=3; Secure; Path=/', '__Host-bad=4; Path=/app; Secure')}`,
    );
    expect(client.cookie(a.origin, 'root')).toBe('1');
    expect(client.cookie(`${a.origin}/app/x`, 'scoped')).toBe('2');
    expect(client.cookie(`${a.origin}/application`, 'scoped')).toBeUndefined();
    expect(client.cookie(a.origin, '__Host-ok')).toBe('3');
    expect(client.cookie(a.origin, '__Host-bad')).toBeUndefined();

    await client.navigate(`${b.origin}/app/page`);
    expect(seen[1]?.headers.cookie).toBe('scoped=2; root=1; __Host-ok=3');

    await client.navigate(`${a.origin}/?${set('root=; Max-Age=0; Path=/')}`);
    expect(client.cookie(a.origin, 'root')).toBeUndefined();
    await client.navigate(`${a.origin}/?${set('scoped=; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT')}`);
    expect(client.jar.all().map((c) => c.name)).toEqual(['__Host-ok']);
    await client.close();
  });

  it('expires cookies by Max-Age on its clock', () => {
    let now = 1_000_000;
    const jar = new CookieJar(() => now);
    const url = new URL('http://127.0.0.1:1/');
    jar.store(url, ['short=1; Max-Age=10', 'other=2; Domain=example.test']);
    expect(jar.header(url)).toBe('short=1');
    now += 10_001;
    expect(jar.header(url)).toBeUndefined();
  });
});
