// Access log over real sockets: one line per request with the agreed fields, and never a secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, sendRequest, startTestGatehouse, type LogLine, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { freePort } from '../../helpers/ports.js';
import { headerValues, startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

const SECRETS = ['SECRETCOOKIE', 'SECRETTOKEN', 'SECRETCODE', 'SECRETSTATE'];

function accessLines(gatehouse: TestGatehouse): LogLine[] {
  return gatehouse.logs.filter((line) => line.msg === 'request');
}

describe('access log', () => {
  let upstream: RecordingUpstream;
  let gatehouse: TestGatehouse;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      req.once('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('hello'));
    });
    gatehouse = await startTestGatehouse({ upstream: { url: upstream.url } });
  });

  afterAll(async () => {
    await gatehouse.shutdown();
    await upstream.close();
  });

  it('writes one line per request with reqId, method, path without query, status, ms and the bytes sent', async () => {
    const before = accessLines(gatehouse).length;
    const response = await rawRequest(
      gatehouse.url,
      [
        'GET /account/settings?code=SECRETCODE&state=SECRETSTATE HTTP/1.1',
        'Host: app.test',
        'Connection: close',
        'X-Request-Id: log-1',
        'Cookie: s=SECRETCOOKIE; theme=dark',
        'Authorization: Bearer SECRETTOKEN',
        '',
        '',
      ].join('\r\n'),
    );
    expect(response.status).toBe(200);
    expect(response.body).toBe('hello');

    const seen = upstream.requests.at(-1);
    expect(seen?.url).toBe('/account/settings?code=SECRETCODE&state=SECRETSTATE');
    expect(headerValues(seen?.rawHeaders ?? [], 'cookie')).toEqual(['s=SECRETCOOKIE; theme=dark']);
    expect(headerValues(seen?.rawHeaders ?? [], 'authorization')).toEqual(['Bearer SECRETTOKEN']);

    const lines = accessLines(gatehouse).slice(before);
    expect(lines).toHaveLength(1);
    const line = lines[0] as LogLine;
    expect(line).toMatchObject({
      level: 'info',
      reqId: 'log-1',
      method: 'GET',
      path: '/account/settings',
      status: 200,
      bytes: Buffer.byteLength(response.raw, 'latin1'),
    });
    expect(String(line?.time)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Math.abs(Date.parse(String(line?.time)) - Date.now())).toBeLessThan(60_000);
    expect(typeof line.ms).toBe('number');
    expect(line.ms as number).toBeGreaterThanOrEqual(0);
    expect(line.ms as number).toBeLessThan(5_000);
  });

  it('logs a generated UUID as reqId when the client sent none, and 400 for a refused path', async () => {
    const before = accessLines(gatehouse).length;
    expect((await sendRequest(`${gatehouse.url}/plain?token=SECRETTOKEN`)).status).toBe(200);
    expect((await sendRequest(`${gatehouse.url}/a%2Fb?code=SECRETCODE`)).status).toBe(400);
    const lines = accessLines(gatehouse).slice(before);
    expect(lines.map((line) => [line.method, line.path, line.status])).toEqual([
      ['GET', '/plain', 200],
      ['GET', '/a%2Fb', 400],
    ]);
    expect(lines[0]?.reqId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(lines[0]?.reqId).not.toBe(lines[1]?.reqId);
  });

  it('never writes a cookie value, an Authorization value or a query string value', async () => {
    const from = gatehouse.logText().length;
    const headers = { cookie: 'a=SECRETCOOKIE', authorization: 'Basic SECRETTOKEN', 'x-request-id': 'log-secrets' };
    await sendRequest(`${gatehouse.url}/p?code=SECRETCODE&state=SECRETSTATE`, { method: 'POST', headers, body: 'x' });
    const text = gatehouse.logText().slice(from);
    expect(text).toContain('"reqId":"log-secrets"');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });
});

describe('failure logs', () => {
  it('log the failed upstream request without secrets', async () => {
    const gatehouse = await startTestGatehouse({ upstream: { url: `http://127.0.0.1:${await freePort()}` } });
    try {
      const response = await sendRequest(`${gatehouse.url}/cb?code=SECRETCODE&state=SECRETSTATE`, {
        headers: { cookie: 'gatehouse_session=SECRETCOOKIE', authorization: 'Bearer SECRETTOKEN', 'x-request-id': 'log-fail' },
      });
      expect(response.status).toBe(502);
      const failure = gatehouse.logs.find((line) => line.msg === 'upstream request failed');
      expect(failure).toMatchObject({ level: 'warn', reqId: 'log-fail', kind: 'refused' });
      expect(accessLines(gatehouse)).toMatchObject([{ reqId: 'log-fail', path: '/cb', status: 502 }]);
      const text = gatehouse.logText();
      for (const secret of SECRETS) expect(text).not.toContain(secret);
    } finally {
      await gatehouse.shutdown();
    }
  });
});
