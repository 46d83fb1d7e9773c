// The app misbehaves: refuses connections (502), cuts the response mid-body (the client sees the cut, never a
// second status), hangs (504 after upstream.timeout_ms), closes idle keep-alive sockets between requests.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRequest, startTestGatehouse, type TestGatehouse } from '../helpers/gatehouse-process.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/** /cut: 200 head and half the body, then the socket is destroyed; /hang: no answer; /idle-close: answers and closes the socket right after. */
function faultyApp(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  if (req.url === '/cut') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    res.write('x'.repeat(500), () => setTimeout(() => req.socket.destroy(), 30));
    return;
  }
  if (req.url === '/hang') return;
  res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${req.url}`);
}

/** One GET over node:http; resolves with what the client saw, including a cut body. */
function fetchOutcome(url: string): Promise<{ status: number; bytes: number; outcome: 'complete' | 'cut' }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes, outcome: 'complete' }));
      res.once('aborted', () => resolve({ status: res.statusCode ?? 0, bytes, outcome: 'cut' }));
      res.once('error', () => resolve({ status: res.statusCode ?? 0, bytes, outcome: 'cut' }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('upstream faults', () => {
  let app: RecordingUpstream;
  let gatehouse: TestGatehouse;
  beforeAll(async () => {
    app = await startUpstream(faultyApp);
    gatehouse = await startTestGatehouse({ upstream: { url: app.url, timeout_ms: 400 } });
  });
  afterAll(async () => {
    await gatehouse.shutdown();
    await app.close();
  });

  it('resets mid-body: the client gets the 200 head and 500 bytes, then the connection is cut (no 500, no second head)', async () => {
    const resets = async (): Promise<number> => (await gatehouse.metrics.upstreamErrors.get()).values.find((v) => v.labels.kind === 'reset')?.value ?? 0;
    const resetsBefore = await resets();
    const seen = await fetchOutcome(`${gatehouse.url}/cut`);
    expect(seen).toEqual({ status: 200, bytes: 500, outcome: 'cut' });
    expect((await sendRequest(`${gatehouse.url}/after-cut`)).body).toBe('ok /after-cut');
    // The app's failure is recorded as one, not mistaken for a client that went away.
    expect((await resets()) - resetsBefore).toBe(1);
    expect(gatehouse.logs.filter((line) => line.msg === 'upstream request failed' && line.kind === 'reset')).toHaveLength(1);
  });

  it('hangs: 504 after upstream.timeout_ms (400 ms)', async () => {
    const began = Date.now();
    const res = await sendRequest(`${gatehouse.url}/hang`, { headers: { accept: 'application/json' } });
    const ms = Date.now() - began;
    expect(res.status).toBe(504);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'upstream_timeout' });
    expect(ms).toBeGreaterThanOrEqual(380);
    expect(ms).toBeLessThan(1_500);
  });

  it('closes idle keep-alive sockets between requests: every next request still succeeds, none is retried twice', async () => {
    const before = app.requests.length;
    for (let i = 0; i < 5; i++) {
      expect((await sendRequest(`${gatehouse.url}/ka/${i}`)).body).toBe(`ok /ka/${i}`);
      app.server.closeIdleConnections();
      await waitFor(() => app.openConnections() === 0, { what: 'the app closing its idle connection' });
    }
    expect(app.requests.slice(before).map((r) => r.url)).toEqual(['/ka/0', '/ka/1', '/ka/2', '/ka/3', '/ka/4']);
  });

  it('closes a keep-alive socket at the same instant the next request is sent: GET answered 200 or 502, never hangs, never duplicated', async () => {
    const before = app.requests.length;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const sent = sendRequest(`${gatehouse.url}/race/${i}`);
      app.server.closeIdleConnections();
      statuses.push((await sent).status);
    }
    expect(statuses.every((s) => s === 200 || s === 502)).toBe(true);
    const urls = app.requests.slice(before).map((r) => r.url);
    expect(new Set(urls).size).toBe(urls.length);
  });

  it('refuses connections: 502 page', async () => {
    const refused = await startTestGatehouse({ upstream: { url: `http://127.0.0.1:${await freePort()}` } });
    try {
      const res = await sendRequest(`${refused.url}/x`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(502);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    } finally {
      await refused.shutdown();
    }
  });
});
