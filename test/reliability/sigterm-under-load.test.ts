// SIGTERM under load: every request already accepted finishes with 200 within the drain timeout, and the
// process exits 0. Runs the built CLI as a child process (npm test builds first).
import { afterEach, describe, expect, it } from 'vitest';
import { sendRequest, startChildGatehouse, type ChildGatehouse } from '../helpers/gatehouse-process.js';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const IN_FLIGHT = 20;
const APP_DELAY_MS = 700;

describe('SIGTERM with 20 slow requests in flight', () => {
  let app: RecordingUpstream | undefined;
  let gatehouse: ChildGatehouse | undefined;
  afterEach(async () => {
    await gatehouse?.dispose();
    await app?.close();
  });

  it('all 20 complete with 200 and their own body, within the drain timeout; exit code 0', async () => {
    app = await startUpstream((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`done ${req.url}`), APP_DELAY_MS);
    });
    gatehouse = await startChildGatehouse({ upstream: { url: app.url }, shutdown: { drain_timeout: '5s' } });
    const url = gatehouse.url;
    const requests = Array.from({ length: IN_FLIGHT }, (_, i) =>
      sendRequest(`${url}/slow/${i}`, i % 2 === 0 ? {} : { method: 'POST', body: `upload ${i}`, headers: { 'content-type': 'text/plain' } }),
    );
    await waitFor(() => app?.requests.length === IN_FLIGHT, { timeoutMs: 5_000 });
    const signalled = Date.now();
    gatehouse.child.kill('SIGTERM');

    const responses = await Promise.all(requests);
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: IN_FLIGHT }, () => 200));
    expect(responses.map((r) => r.body)).toEqual(Array.from({ length: IN_FLIGHT }, (_, i) => `done /slow/${i}`));
    expect(await gatehouse.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(5_000);
    expect(gatehouse.logs.some((l) => l.msg === 'drain timeout reached, closing remaining connections')).toBe(false);
    expect(gatehouse.stderr()).toBe('');
  });
});
