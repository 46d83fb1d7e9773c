// SIGTERM on a gatehouse process: readiness drops at once, in-flight requests finish, new ones are refused,
// and the drain timeout bounds how long the process waits.
import { afterEach, describe, expect, it } from 'vitest';
import { sendRequest, startChildGatehouse, type ChildGatehouse } from '../helpers/gatehouse-process.js';
import { connectOutcome } from '../helpers/ports.js';
import { startUpstream, type RecordingUpstream } from '../helpers/upstream.js';

/** An app that answers `/wait/<ms>` after that many milliseconds. */
function startDelayedApp(): Promise<RecordingUpstream> {
  return startUpstream((req, res) => {
    req.resume();
    const delay = Number(/^\/wait\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
    const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`waited ${delay}`), delay);
    res.once('close', () => clearTimeout(timer));
  });
}

describe('shutdown on SIGTERM and SIGINT', () => {
  let app: RecordingUpstream | undefined;
  let gatehouse: ChildGatehouse | undefined;

  afterEach(async () => {
    await gatehouse?.dispose();
    await app?.close();
  });

  it('turns /readyz 503 at once, finishes the in-flight request, refuses new connections and exits 0', async () => {
    app = await startDelayedApp();
    gatehouse = await startChildGatehouse({ upstream: { url: app.url } });
    expect((await sendRequest(`${gatehouse.opsUrl}/readyz`)).status).toBe(200);

    const inFlight = sendRequest(`${gatehouse.url}/wait/1000`);
    await app.nthRequest(1);
    const signalled = Date.now();
    gatehouse.child.kill('SIGTERM');

    let readyz = await sendRequest(`${gatehouse.opsUrl}/readyz`);
    while (readyz.status === 200 && Date.now() - signalled < 500) readyz = await sendRequest(`${gatehouse.opsUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.body)).toEqual({ ready: false, waiting_for: { shutdown: 'shutting down' } });
    expect(Date.now() - signalled).toBeLessThan(500);

    expect(await connectOutcome(gatehouse.port)).toBe('ECONNREFUSED');

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body).toBe('waited 1000');
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);

    expect(await gatehouse.exited).toEqual({ code: 0, signal: null });
    expect(gatehouse.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down: draining in-flight requests', 'gatehouse stopped']));
    expect(gatehouse.stderr()).toBe('');
  });

  it('SIGINT (Ctrl-C in a terminal) drains the same way: the in-flight request finishes, exit 0', async () => {
    app = await startDelayedApp();
    gatehouse = await startChildGatehouse({ upstream: { url: app.url } });
    const inFlight = sendRequest(`${gatehouse.url}/wait/300`);
    await app.nthRequest(1);
    gatehouse.child.kill('SIGINT');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body).toBe('waited 300');
    expect(await gatehouse.exited).toEqual({ code: 0, signal: null });
    expect(gatehouse.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down: draining in-flight requests', 'gatehouse stopped']));
    expect(gatehouse.stderr()).toBe('');
  });

  it('cuts what is left after shutdown.drain_timeout and exits within about 1.5 s', async () => {
    app = await startDelayedApp();
    gatehouse = await startChildGatehouse({ upstream: { url: app.url }, shutdown: { drain_timeout: '500ms' } });

    const inFlight = sendRequest(`${gatehouse.url}/wait/5000`).then(
      (response) => `answered ${response.status}`,
      (error: NodeJS.ErrnoException) => error.code ?? 'error',
    );
    await app.nthRequest(1);
    const signalled = Date.now();
    gatehouse.child.kill('SIGTERM');

    expect(await gatehouse.exited).toEqual({ code: 0, signal: null });
    const elapsed = Date.now() - signalled;
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1_500);
    expect(await inFlight).toBe('ECONNRESET');
    expect(gatehouse.logs.find((line) => line.msg === 'drain timeout reached, closing remaining connections')).toMatchObject({ timeoutMs: 500 });
  });
});
