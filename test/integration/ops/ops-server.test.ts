// The ops listener on its own port: liveness, readiness, Prometheus metrics fed by proxied traffic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRequest, startTestGatehouse, type TestGatehouse } from '../../helpers/gatehouse-process.js';
import { freePort } from '../../helpers/ports.js';
import { startUpstream, type RecordingUpstream } from '../../helpers/upstream.js';

/** The value of one sample line (`name{labels} value`) in Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('ops listener', () => {
  let upstream: RecordingUpstream;
  let gatehouse: TestGatehouse;
  let releaseSlow: () => void = () => undefined;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      if (req.url === '/slow') {
        releaseSlow = () => res.end('late');
        return;
      }
      res.end('ok');
    });
    gatehouse = await startTestGatehouse({ upstream: { url: upstream.url } });
  });

  afterAll(async () => {
    await gatehouse.shutdown();
    await upstream.close();
  });

  it('listens on its own port', () => {
    expect(gatehouse.opsPort).not.toBe(gatehouse.port);
    expect(gatehouse.opsUrl).toBe(`http://127.0.0.1:${gatehouse.opsPort}`);
  });

  it('answers /healthz with 200 ok', async () => {
    const response = await sendRequest(`${gatehouse.opsUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(response.body).toBe('ok\n');
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers /readyz with 200 when ready and 503 naming the reason while blocked', async () => {
    const ready = await sendRequest(`${gatehouse.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ ready: true });

    gatehouse.readiness.block('store', 'session store unreachable');
    const blocked = await sendRequest(`${gatehouse.opsUrl}/readyz`);
    expect(blocked.status).toBe(503);
    expect(JSON.parse(blocked.body)).toEqual({ ready: false, waiting_for: { store: 'session store unreachable' } });

    gatehouse.readiness.unblock('store');
    expect((await sendRequest(`${gatehouse.opsUrl}/readyz`)).status).toBe(200);
  });

  it('refuses methods other than GET and HEAD, and unknown paths', async () => {
    const post = await sendRequest(`${gatehouse.opsUrl}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await sendRequest(`${gatehouse.opsUrl}/`)).status).toBe(404);
  });

  it('leaves /healthz, /readyz and /metrics on the proxy port to the app', async () => {
    const before = upstream.requests.length;
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await sendRequest(`${gatehouse.url}${path}`)).body).toBe('ok');
    expect(upstream.requests.slice(before).map((r) => r.url)).toEqual(['/healthz', '/readyz', '/metrics']);
  });

  it('counts proxied requests by status class, their duration, and the requests in flight', async () => {
    const metricsText = async (): Promise<string> => {
      const response = await sendRequest(`${gatehouse.opsUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      return response.body;
    };
    const before = await metricsText();
    const ok = sample(before, 'gatehouse_http_requests_total{status_class="2xx"}') ?? 0;
    const observed = sample(before, 'gatehouse_http_request_duration_seconds_count') ?? 0;

    expect((await sendRequest(`${gatehouse.url}/counted`)).status).toBe(200);
    const after = await metricsText();
    expect(sample(after, 'gatehouse_http_requests_total{status_class="2xx"}')).toBe(ok + 1);
    expect(sample(after, 'gatehouse_http_requests_total{status_class="5xx"}')).toBe(0);
    expect(sample(after, 'gatehouse_http_request_duration_seconds_count')).toBe(observed + 1);
    expect(sample(after, 'gatehouse_http_request_duration_seconds_bucket{le="+Inf"}')).toBe(observed + 1);
    expect(sample(after, 'gatehouse_http_requests_in_flight')).toBe(0);

    const slow = sendRequest(`${gatehouse.url}/slow`);
    await upstream.nthRequest(upstream.requests.length + 1);
    expect(sample(await metricsText(), 'gatehouse_http_requests_in_flight')).toBe(1);
    releaseSlow();
    expect((await slow).body).toBe('late');
    expect(sample(await metricsText(), 'gatehouse_http_requests_in_flight')).toBe(0);
  });
});

describe('ops metrics when the app refuses connections', () => {
  it('counts gatehouse_upstream_errors_total{kind="refused"} and a 5xx request', async () => {
    const gatehouse = await startTestGatehouse({ upstream: { url: `http://127.0.0.1:${await freePort()}` } });
    try {
      expect((await sendRequest(`${gatehouse.url}/x`)).status).toBe(502);
      const text = (await sendRequest(`${gatehouse.opsUrl}/metrics`)).body;
      expect(sample(text, 'gatehouse_upstream_errors_total{kind="refused"}')).toBe(1);
      expect(sample(text, 'gatehouse_http_requests_total{status_class="5xx"}')).toBe(1);
      expect(sample(text, 'gatehouse_http_requests_total{status_class="2xx"}')).toBe(0);
    } finally {
      await gatehouse.shutdown();
    }
  });
});
