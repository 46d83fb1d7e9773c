// Advisory: HTTP request smuggling. Ambiguous framing sent over a raw socket is refused by Node's parser (llhttp)
// with 400 and connection close; the app receives at most one request per probe, never the smuggled second one, in local
// mode and in cloud mode with a signed-in session on both requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudStack } from '../helpers/cloud-stack.js';
import { rawRequest, startTestGatehouse } from '../helpers/gatehouse-process.js';
import { signedInCookieHeader } from '../helpers/session-requests.js';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.js';

/**
 * Each probe carries a complete second request after an ambiguous first one. `extra` is header lines (CRLF-ended)
 * both requests carry, such as a signed-in user's session cookie.
 */
function probes(extra: string): Record<string, string> {
  const lf = extra.replaceAll('\r\n', '\n');
  const SMUGGLED = `GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
  return {
    'Content-Length + Transfer-Encoding: chunked': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'Transfer-Encoding: chunked + Content-Length': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Transfer-Encoding: chunked\r\nContent-Length: 48\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'duplicate Content-Length with different values': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Content-Length: 0\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    'Content-Length list with different values': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Content-Length: 0, ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    'obs-fold header line': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Transfer-Encoding: identity\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'obs-fold continuation of Content-Length': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Content-Length: 0\r\n  ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    'bare LF line endings': `POST /first HTTP/1.1\nHost: 127.0.0.1\n${lf}Content-Length: 0\n\n${SMUGGLED}`,
    'bare LF inside the head': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\n${lf}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n${SMUGGLED}`,
    'Transfer-Encoding: chunked, identity': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'Transfer-Encoding: x-chunked': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Transfer-Encoding: x-chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    'invalid chunk size': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
    'chunk size with a negative sign': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n${SMUGGLED}`,
    'space before the header colon': `POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Transfer-Encoding : chunked\r\nContent-Length: 0\r\n\r\n${SMUGGLED}`,
    'NUL in a header value': `GET /first HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}X-Test: a\u0000b\r\n\r\n${SMUGGLED}`,
  };
}

interface Target {
  url: string;
  upstream: RecordingUpstream;
  /** Header lines every request of a probe carries. */
  extra: string;
  close(): Promise<void>;
}

const TARGETS: Record<string, () => Promise<Target>> = {
  'local mode': async () => {
    const upstream = await startUpstream();
    const gatehouse = await startTestGatehouse({ mode: 'local', upstream: { url: upstream.url } });
    return { url: `http://127.0.0.1:${gatehouse.port}`, upstream, extra: '', close: () => gatehouse.shutdown() };
  },
  'cloud mode, signed in (both requests carry the session cookie)': async () => {
    const stack = await startCloudStack();
    const cookie = await signedInCookieHeader(stack, 'alice');
    return { url: stack.url, upstream: stack.upstream, extra: `Cookie: ${cookie}\r\n`, close: () => stack.close() };
  },
};

for (const [label, start] of Object.entries(TARGETS)) {
  describe(`request smuggling probes over a raw socket (${label})`, () => {
    let target: Target;
    beforeAll(async () => {
      target = await start();
    });
    afterAll(async () => {
      await target?.close();
    });

    it('control: two pipelined well-formed requests both reach the app, in order', async () => {
      const { url, upstream, extra } = target;
      const before = upstream.requests.length;
      const res = await rawRequest(
        url,
        `GET /one HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\nGET /two HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`,
      );
      expect(res.status).toBe(200);
      expect(upstream.requests.slice(before).map((r) => r.url)).toEqual(['/one', '/two']);
    });

    for (const name of Object.keys(probes(''))) {
      it(`${name} → 400, the smuggled request never reaches the app`, async () => {
        const { url, upstream, extra } = target;
        const before = upstream.requests.length;
        const res = await rawRequest(url, probes(extra)[name] as string);
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
}
