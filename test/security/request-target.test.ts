// What gatehouse decides on is what the app receives (issue: path, method, host). Every request here is written
// byte for byte on a raw socket, as an attacker would, against gatehouse in front of a recording app: the test
// asserts gatehouse's answer and exactly what reached the app (the request-target, the method, or nothing).
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudStack, type CloudStack } from '../helpers/cloud-stack.js';
import { rawRequest, type RawResponse } from '../helpers/gatehouse-process.js';
import { metricValue } from '../helpers/session-requests.js';
import { afterBody, startUpstream, type RecordingUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const CONFIG = {
  public_paths: ['/public/', '/healthz'],
  local_login: { enabled: true, paths: ['/login.html'] },
  cors_preflight: 'pass',
};

const JSON_ACCEPT = 'Accept: application/json\r\n';

function request(stack: CloudStack, head: string, body?: string): Promise<RawResponse> {
  return rawRequest(stack.url, head, body);
}

function get(stack: CloudStack, target: string, extra = ''): Promise<RawResponse> {
  return request(stack, `GET ${target} HTTP/1.1\r\nHost: ${new URL(stack.url).host}\r\n${JSON_ACCEPT}${extra}Connection: close\r\n\r\n`);
}

describe('one target for the decision and for the app', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: CONFIG });
  });
  afterAll(async () => {
    await stack.close();
  });

  const forwarded = async (run: () => Promise<RawResponse>): Promise<{ response: RawResponse; urls: string[] }> => {
    const before = stack.upstream.requests.length;
    const response = await run();
    return { response, urls: stack.upstream.requests.slice(before).map((r) => r.url) };
  };

  // Rewritten: empty segments collapse, so the app reads the same path gatehouse matched (a WHATWG parser reads a
  // leading `//x` as the authority `x`; an app emitting `a//b` in its own links gets `a/b`).
  const REWRITTEN: ReadonlyArray<readonly [string, string]> = [
    ['//public/fixed', '/public/fixed'],
    ['//healthz', '/healthz'],
    ['//login.html', '/login.html'],
    ['/public//a//b?x=//y', '/public/a/b?x=//y'],
    ['/public/%7e%61', '/public/~a'],
    ['/public/caf%c3%a9', '/public/caf%C3%A9'],
    ['/public/a"{}|^`<>[]', '/public/a%22%7B%7D%7C%5E%60%3C%3E%5B%5D'],
    ['/%70ublic/x', '/public/x'],
  ];
  for (const [target, app] of REWRITTEN) {
    it(`${target} is forwarded as ${app}`, async () => {
      const { response, urls } = await forwarded(() => get(stack, target));
      expect(response.status).toBe(200);
      expect(urls).toEqual([app]);
      expect(new URL(urls[0] as string, 'http://app.invalid').pathname + new URL(urls[0] as string, 'http://app.invalid').search).toBe(app);
    });
  }

  // Refused: dot segments in any spelling, `;` params beside them, raw `#`, encoded separators.
  const REFUSED: readonly string[] = [
    '/admin/../public/x',
    '/admin//../public/x',
    '/admin/..;/public/x',
    '/public/..;/admin',
    '/public/%2e%2e/admin',
    '/public/.%2E/admin',
    '/public/./x',
    '/public/%2e/x',
    '/public/.;x/y',
    '/public/x/..',
    '/admin#/public/x',
    '/public/x#frag',
    '/public/x?a=1#/admin',
    '/public%2fadmin',
    '/public/%5c/admin',
    '/public\\admin',
  ];
  for (const target of REFUSED) {
    it(`${target} → 400, the app sees nothing`, async () => {
      const { response, urls } = await forwarded(() => get(stack, target));
      expect(response.status).toBe(400);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'bad_request' });
      expect(urls).toEqual([]);
    });
  }

  it('an absolute-form target naming gatehouse is forwarded in origin-form', async () => {
    const host = new URL(stack.url).host;
    const { response, urls } = await forwarded(() => get(stack, `http://${host}/public/reset?u=1`));
    expect(response.status).toBe(200);
    expect(urls).toEqual(['/public/reset?u=1']);
  });

  it('an absolute-form target naming another authority → 400, the app sees nothing', async () => {
    const { response, urls } = await forwarded(() => get(stack, 'http://evil.example/public/reset'));
    expect(response.status).toBe(400);
    expect(urls).toEqual([]);
  });

  it('two Host headers → 400 from gatehouse, not an upstream error', async () => {
    const errorsBefore = await metricValue(stack.gatehouse, 'gatehouse_upstream_errors_total', { kind: 'protocol' });
    const host = new URL(stack.url).host;
    const { response, urls } = await forwarded(() =>
      request(stack, `GET /public/x HTTP/1.1\r\nHost: ${host}\r\nHost: evil.example\r\n${JSON_ACCEPT}Connection: close\r\n\r\n`),
    );
    expect(response.status).toBe(400);
    expect(urls).toEqual([]);
    expect(await metricValue(stack.gatehouse, 'gatehouse_upstream_errors_total', { kind: 'protocol' })).toBe(errorsBefore);
  });
});

describe('methods mean what they say', () => {
  let stack: CloudStack;
  beforeAll(async () => {
    stack = await startCloudStack({ config: CONFIG });
  });
  afterAll(async () => {
    await stack.close();
  });
  const host = (): string => new URL(stack.url).host;

  it('cors_preflight: pass forwards a real preflight, with its method', async () => {
    const before = stack.upstream.requests.length;
    const response = await request(
      stack,
      `OPTIONS /admin/x HTTP/1.1\r\nHost: ${host()}\r\nOrigin: https://spa.example\r\nAccess-Control-Request-Method: DELETE\r\nConnection: close\r\n\r\n`,
    );
    expect(response.status).toBe(200);
    expect(stack.upstream.requests.slice(before).map((r) => [r.method, r.url])).toEqual([['OPTIONS', '/admin/x']]);
  });

  const NOT_PREFLIGHTS: ReadonlyArray<readonly [string, string, string?]> = [
    ['no Origin', 'Access-Control-Request-Method: DELETE\r\n'],
    ['no Access-Control-Request-Method', 'Origin: https://spa.example\r\n'],
    ['a body', 'Origin: https://spa.example\r\nAccess-Control-Request-Method: DELETE\r\nContent-Length: 2\r\n', 'hi'],
  ];
  for (const [what, headers, body] of NOT_PREFLIGHTS) {
    it(`OPTIONS with ${what} is gated like GET (401), the app sees nothing`, async () => {
      const before = stack.upstream.requests.length;
      const response = await request(stack, `OPTIONS /admin/x HTTP/1.1\r\nHost: ${host()}\r\n${JSON_ACCEPT}${headers}Connection: close\r\n\r\n`, body);
      expect(response.status).toBe(401);
      expect(stack.upstream.requests.length).toBe(before);
    });
  }

  const UPGRADES: ReadonlyArray<readonly [string, string]> = [
    ['OPTIONS', 'websocket'],
    ['POST', 'websocket'],
    ['GET', 'h2c'],
  ];
  for (const [method, protocol] of UPGRADES) {
    it(`${method} with Upgrade: ${protocol} on a public path → 400, no upgrade reaches the app`, async () => {
      const before = stack.upstream.requests.length;
      const origin = 'Origin: https://spa.example\r\nAccess-Control-Request-Method: GET\r\n';
      const response = await request(
        stack,
        `${method} /public/socket HTTP/1.1\r\nHost: ${host()}\r\n${origin}Connection: Upgrade\r\nUpgrade: ${protocol}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
      expect(response.status).toBe(400);
      expect(stack.upstream.requests.length).toBe(before);
    });
  }

  it('Expect: 100-continue on a refused request gets the refusal, never 100 Continue', async () => {
    const before = stack.upstream.requests.length;
    const response = await request(stack, `POST /admin/x HTTP/1.1\r\nHost: ${host()}\r\n${JSON_ACCEPT}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
    expect(response.raw.startsWith('HTTP/1.1 401 ')).toBe(true);
    expect(response.raw).not.toContain('100 Continue');
    expect(stack.upstream.requests.length).toBe(before);
  });

  it('Expect: 100-continue on an admitted request gets 100 Continue, then the app answers; Expect is not forwarded', async () => {
    const before = stack.upstream.requests.length;
    const response = await new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(stack.url);
      const socket = connect(Number(port), hostname);
      let seen = '';
      let bodySent = false;
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (!bodySent && seen.includes('100 Continue\r\n\r\n')) {
          bodySent = true;
          socket.write('hello');
        }
      });
      socket.once('error', reject);
      socket.once('end', () => resolve(seen));
      socket.write(`POST /public/upload HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    });
    expect(response.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 ')).toBe(true);
    const arrived = stack.upstream.requests.slice(before);
    expect(arrived.map((r) => [r.method, r.url, r.body?.toString()])).toEqual([['POST', '/public/upload', 'hello']]);
    expect(arrived[0]?.rawHeaders.some((name, i) => i % 2 === 0 && name.toLowerCase() === 'expect')).toBe(false);
  });
});

describe('bounded time for every client', () => {
  let stack: CloudStack;
  let upstream: RecordingUpstream;
  beforeAll(async () => {
    // an app that answers /public/slow-response after 2.5 s, longer than body_timeout
    upstream = await startUpstream((req, res, recorded) =>
      afterBody(recorded, () => {
        const delay = req.url === '/public/slow-response' ? 2_500 : 0;
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), delay);
      }),
    );
    stack = await startCloudStack({ upstream, config: { ...CONFIG, listen: { header_timeout: '1s', body_timeout: '1s' } } });
  });
  const held: Socket[] = [];
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await stack.close();
    await upstream.close();
  });
  const host = (): string => new URL(stack.url).host;

  /** Sends `head` (and `body`), then stalls; resolves with what came back and how long until gatehouse closed. */
  const stall = (head: string, body = ''): Promise<{ raw: string; ms: number }> =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(stack.url);
      const started = Date.now();
      // allowHalfOpen: like a hostile client, it keeps its side open after gatehouse's answer
      const socket = connect({ port: Number(port), host: hostname, allowHalfOpen: true }, () => socket.write(head + body));
      let raw = '';
      socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
      socket.once('error', reject);
      // gatehouse's side ended; the client's stays open until gatehouse cuts it (then it is destroyed below)
      socket.once('end', () => resolve({ raw, ms: Date.now() - started }));
      socket.once('close', () => socket.destroy());
      held.push(socket);
    });
  const counted = (phase: string, value: number): Promise<number> =>
    waitFor(async () => (await metricValue(stack.gatehouse, 'gatehouse_client_timeouts_total', { phase })) === value, { timeoutMs: 5_000 });

  it('a client that stalls inside the request head gets 408 and is cut; counted as a headers timeout', async () => {
    const before = await metricValue(stack.gatehouse, 'gatehouse_client_timeouts_total', { phase: 'headers' });
    const { raw } = await stall(`GET /public/x HTTP/1.1\r\nHost: ${host()}\r\nX-Slow: `);
    expect(raw.startsWith('HTTP/1.1 408 Request Timeout\r\n')).toBe(true);
    await counted('headers', before + 1);
  });

  it('a proxied upload that stalls is cut with 408; the app request is aborted; counted as a body timeout', async () => {
    const before = await metricValue(stack.gatehouse, 'gatehouse_client_timeouts_total', { phase: 'body' });
    const requestsBefore = stack.upstream.requests.length;
    const { raw } = await stall(`POST /public/upload HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 60000\r\n\r\n`, 'partial');
    expect(raw.startsWith('HTTP/1.1 408 Request Timeout\r\n')).toBe(true);
    await counted('body', before + 1);
    const atApp = await stack.upstream.nthRequest(requestsBefore + 1);
    expect(atApp.url).toBe('/public/upload');
    // the app's request is aborted with the client's, never left open
    if (!atApp.req.destroyed) await new Promise((resolve) => atApp.req.once('close', resolve));
    expect(atApp.req.complete).toBe(false);
    expect(stack.upstream.openConnections()).toBe(0);
  });

  for (const route of ['/.auth/backchannel-logout', '/.auth/logout']) {
    it(`POST ${route} announcing 60000 bytes and stalling is cut with 408`, async () => {
      const before = await metricValue(stack.gatehouse, 'gatehouse_client_timeouts_total', { phase: 'body' });
      const { raw } = await stall(
        `POST ${route} HTTP/1.1\r\nHost: ${host()}\r\nOrigin: ${stack.url}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n`,
        'logout_token=',
      );
      // gatehouse may answer before the body is complete (the logout route reads none); the stall is cut either way
      expect(raw).toMatch(/^HTTP\/1\.1 (408|302|400|200) /);
      await counted('body', before + 1);
    });
  }

  it('a refused request whose body stalls is cut too (the discarded body is bounded like any other)', async () => {
    const before = await metricValue(stack.gatehouse, 'gatehouse_client_timeouts_total', { phase: 'body' });
    const { raw } = await stall(`POST /admin/x HTTP/1.1\r\nHost: ${host()}\r\n${JSON_ACCEPT}Content-Length: 60000\r\n\r\n`, 'partial');
    expect(raw.startsWith('HTTP/1.1 401 ')).toBe(true);
    await counted('body', before + 1);
  });

  it('a response the app takes longer than body_timeout to start is not cut', async () => {
    const response = await request(stack, `POST /public/slow-response HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n`, 'hi');
    expect(response.status).toBe(200);
    expect(response.body).toBe('ok');
  });

  it('an upload that keeps moving is not cut, however long it takes in all', async () => {
    const requestsBefore = stack.upstream.requests.length;
    const chunks = ['a', 'b', 'c', 'd'];
    const response = await new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(stack.url);
      const socket = connect(Number(port), hostname, () => {
        socket.write(`POST /public/slow-upload HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: ${chunks.length}\r\nConnection: close\r\n\r\n`);
        let sent = 0;
        const timer = setInterval(() => {
          socket.write(chunks[sent] as string);
          if (++sent === chunks.length) clearInterval(timer);
        }, 600);
      });
      let raw = '';
      socket.on('data', (chunk: Buffer) => (raw += chunk.toString('latin1')));
      socket.once('error', reject);
      socket.once('close', () => resolve(raw));
    });
    expect(response.startsWith('HTTP/1.1 200 ')).toBe(true);
    expect(stack.upstream.requests.slice(requestsBefore).map((r) => r.body?.toString())).toEqual(['abcd']);
  });
});
