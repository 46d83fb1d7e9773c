// Who asked, on access lines: the client address (through trusted proxies only), the peer when it differs, the
// user agent, and the forwarded user's sub only with log.access_user.
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../../helpers/browser-client.js';
import { startCloudStack, type CloudStack } from '../../helpers/cloud-stack.js';
import { rawRequest, sendRequest, startTestGatehouse, type LogLine, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';
import { waitFor } from '../../helpers/wait.js';

const SESSION_NAME = 'gatehouse_session';

function accessLine(gatehouse: TestGatehouse, reqId: string): LogLine {
  const lines = gatehouse.logs.filter((line) => line.msg === 'request' && line.reqId === reqId);
  expect(lines).toHaveLength(1);
  return lines[0] as LogLine;
}

describe('access line: client address and user agent', () => {
  let upstream: RecordingUpstream;
  let direct: TestGatehouse;
  let oneProxy: TestGatehouse;
  let twoProxies: TestGatehouse;

  beforeAll(async () => {
    upstream = await startUpstream();
    [direct, oneProxy, twoProxies] = await Promise.all([
      startTestGatehouse({ upstream: { url: upstream.url } }),
      startTestGatehouse({ upstream: { url: upstream.url }, trust_proxy: ['127.0.0.1/32'] }),
      startTestGatehouse({ upstream: { url: upstream.url }, trust_proxy: ['127.0.0.1/32', '10.0.0.0/8'] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([direct?.shutdown(), oneProxy?.shutdown(), twoProxies?.shutdown()]);
    await upstream?.close();
  });

  it('names the peer as remote and the user agent; no sub in local mode', async () => {
    const res = await sendRequest(`${direct.url}/page?token=x`, {
      headers: { 'x-request-id': 'who-1', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0' },
    });
    expect(res.status).toBe(200);
    const line = accessLine(direct, 'who-1');
    expect(line).toMatchObject({ method: 'GET', path: '/page', status: 200, remote: '127.0.0.1', ua: 'Mozilla/5.0 (X11; Linux x86_64) Test/1.0' });
    expect(line).not.toHaveProperty('peer');
    expect(line).not.toHaveProperty('sub');
  });

  it('keep-alive: every request on one connection, and one the client abandons, is logged with its client', async () => {
    const pool = new Pool(direct.url, { connections: 1, pipelining: 1 });
    try {
      for (const id of ['ka-1', 'ka-2', 'ka-3']) {
        const res = await pool.request({ method: 'GET', path: `/keep/${id}`, headers: { 'x-request-id': id, 'user-agent': 'keep-alive/1' } });
        await res.body.text();
        expect(res.statusCode).toBe(200);
      }
    } finally {
      await pool.close();
    }
    const logged = (id: string) => direct.logs.some((line) => line.msg === 'request' && line.reqId === id);
    await waitFor(() => ['ka-1', 'ka-2', 'ka-3'].every(logged), { what: 'the three access lines' });
    for (const id of ['ka-1', 'ka-2', 'ka-3']) expect(accessLine(direct, id)).toMatchObject({ status: 200, remote: '127.0.0.1', ua: 'keep-alive/1' });
  });

  it('X-Forwarded-For from a peer outside trust_proxy is not believed', async () => {
    await sendRequest(`${direct.url}/p`, { headers: { 'x-request-id': 'who-2', 'x-forwarded-for': '203.0.113.9' } });
    const line = accessLine(direct, 'who-2');
    expect(line.remote).toBe('127.0.0.1');
    expect(line).not.toHaveProperty('peer');
    expect(line).not.toHaveProperty('ua');
  });

  it('through trusted proxies, remote is the first untrusted address from the right and peer the socket', async () => {
    const headers = { 'x-forwarded-for': '198.51.100.7, 203.0.113.9, 10.0.0.5' };
    await sendRequest(`${oneProxy.url}/p`, { headers: { ...headers, 'x-request-id': 'who-3' } });
    expect(accessLine(oneProxy, 'who-3')).toMatchObject({ remote: '10.0.0.5', peer: '127.0.0.1' });
    await sendRequest(`${twoProxies.url}/p`, { headers: { ...headers, 'x-request-id': 'who-4' } });
    expect(accessLine(twoProxies, 'who-4')).toMatchObject({ remote: '203.0.113.9', peer: '127.0.0.1' });
    // every hop trusted: the leftmost address
    await sendRequest(`${twoProxies.url}/p`, { headers: { 'x-forwarded-for': '10.1.2.3', 'x-request-id': 'who-5' } });
    expect(accessLine(twoProxies, 'who-5')).toMatchObject({ remote: '10.1.2.3', peer: '127.0.0.1' });
  });

  it('a long user agent is cut at 256 characters; control characters stay inside the JSON string', async () => {
    const ua = `Agent/${'x'.repeat(400)}`;
    await sendRequest(`${direct.url}/p`, { headers: { 'x-request-id': 'who-6', 'user-agent': ua } });
    expect(accessLine(direct, 'who-6').ua).toBe(ua.slice(0, 256));
    const quoted = 'evil" "status":200 \\ {}';
    await sendRequest(`${direct.url}/p`, { headers: { 'x-request-id': 'who-7', 'user-agent': quoted } });
    expect(accessLine(direct, 'who-7').ua).toBe(quoted);
  });

  it('a refused WebSocket upgrade names the client too', async () => {
    await rawRequest(
      direct.url,
      'GET /.auth/socket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nUser-Agent: ws-client/2\r\nX-Request-Id: who-8\r\n\r\n',
    );
    expect(accessLine(direct, 'who-8')).toMatchObject({ status: 404, upgrade: true, remote: '127.0.0.1', ua: 'ws-client/2' });
  });
});

describe('access line: the user with log.access_user', () => {
  let withUser: CloudStack;
  let withoutUser: CloudStack;
  beforeAll(async () => {
    [withUser, withoutUser] = await Promise.all([startCloudStack({ config: { log: { access_user: true } } }), startCloudStack()]);
  });
  afterAll(async () => {
    await Promise.all([withUser?.close(), withoutUser?.close()]);
  });

  const signedInCookie = async (stack: CloudStack): Promise<string> => {
    const client = new BrowserClient();
    await stack.signIn(client, '/', 'alice');
    return `${SESSION_NAME}=${client.cookie(stack.url, SESSION_NAME) ?? ''}`;
  };

  it('on: a forwarded signed-in request carries sub; an anonymous one does not', async () => {
    const cookie = await signedInCookie(withUser);
    expect((await sendRequest(`${withUser.url}/app`, { headers: { cookie, 'x-request-id': 'sub-1', accept: 'application/json' } })).status).toBe(200);
    expect(accessLine(withUser.gatehouse, 'sub-1')).toMatchObject({ status: 200, sub: 'alice', remote: '127.0.0.1' });
    expect((await sendRequest(`${withUser.url}/app`, { headers: { 'x-request-id': 'sub-2', accept: 'application/json' } })).status).toBe(401);
    expect(accessLine(withUser.gatehouse, 'sub-2')).not.toHaveProperty('sub');
  });

  it('off (the default): no sub, even for a signed-in user', async () => {
    const cookie = await signedInCookie(withoutUser);
    expect((await sendRequest(`${withoutUser.url}/app`, { headers: { cookie, 'x-request-id': 'sub-3', accept: 'application/json' } })).status).toBe(200);
    const line = accessLine(withoutUser.gatehouse, 'sub-3');
    expect(line.status).toBe(200);
    expect(line).not.toHaveProperty('sub');
  });
});
