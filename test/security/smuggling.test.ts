// Advisory: HTTP request smuggling. Ambiguous framing sent over a raw socket is refused by Node's parser (llhttp)
// with 400 and connection close; the app receives at most one request per probe, never the smuggled second one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest, startTestGatehouse, type TestGatehouse } from '../helpers/gatehouse-process.js';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.js';

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

/** Each probe carries a complete second request after an ambiguous first one. */
const PROBES: Record<string, string> = {
  'Content-Length + Transfer-Encoding: chunked':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'Transfer-Encoding: chunked + Content-Length':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'duplicate Content-Length with different values':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
  'Content-Length list with different values':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0, ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
  'obs-fold header line':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: identity\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'obs-fold continuation of Content-Length':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n  ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
  'bare LF line endings':
    `POST /first HTTP/1.1\nHost: 127.0.0.1\nContent-Length: 0\n\n${SMUGGLED}`,
  'bare LF inside the head':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n${SMUGGLED}`,
  'Transfer-Encoding: chunked, identity':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'Transfer-Encoding: x-chunked':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: x-chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  'invalid chunk size':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  'chunk size with a negative sign':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
  'space before the header colon':
    `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding : chunked\r\nContent-Length: 0\r\n\r\n${SMUGGLED}`,
  'NUL in a header value':
    `GET /first HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test: a\u0000b\r\n\r\n${SMUGGLED}`,
};

describe('request smuggling probes over a raw socket', () => {
  let upstream: RecordingUpstream;
  let gatehouse: TestGatehouse;
  let url: string;
  beforeAll(async () => {
    upstream = await startUpstream();
    gatehouse = await startTestGatehouse({ mode: 'local', upstream: { url: upstream.url } });
    url = `http://127.0.0.1:${gatehouse.port}`;
  });
  afterAll(async () => {
    await gatehouse.shutdown();
    await upstream.close();
  });

  it('control: two pipelined well-formed requests both reach the app, in order', async () => {
    const before = upstream.requests.length;
    const res = await rawRequest(url, `GET /one HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /two HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(200);
    expect(upstream.requests.slice(before).map((r) => r.url)).toEqual(['/one', '/two']);
  });

  for (const [name, probe] of Object.entries(PROBES)) {
    it(`${name} → 400, the smuggled request never reaches the app`, async () => {
      const before = upstream.requests.length;
      const res = await rawRequest(url, probe);
      expect(res.raw.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
      expect(res.raw).toContain('\r\nconnection: close\r\n');
      expect(res.raw.match(/HTTP\/1\.1 /g)).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const seen = upstream.requests.slice(before).map((r) => r.url);
      expect(seen.length).toBeLessThanOrEqual(1);
      expect(seen).not.toContain('/smuggled');
    });
  }
});
