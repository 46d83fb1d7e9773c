// Ports for test servers that must be known before they listen (a redirect_uri registered at the provider) or that
// a test restarts on the same port. A port from bind(0) is an ephemeral one: once that probe closes, the kernel may
// hand it to any outgoing connection of a parallel test file before the server listens on it (EADDRINUSE in CI).
// So ports come from below the ephemeral range, in a slice of it per vitest worker, and are probed before use.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
const SLICES = 16;

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low) && low > LOWEST + SLICES * 64) return low;
  } catch {
    // not Linux: fall back to the IANA dynamic range's start
  }
  return 49_152;
}

const sliceSize = Math.floor((ephemeralLow() - LOWEST) / SLICES);
const slice = (Number(process.env.VITEST_POOL_ID ?? process.pid) - 1 + SLICES) % SLICES;
const sliceStart = LOWEST + slice * sliceSize;
let next = Math.floor(Math.random() * sliceSize);

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** A port nothing listens on, outside the kernel's ephemeral range, not handed out before by this worker. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < sliceSize; tries += 1) {
    const port = sliceStart + (next % sliceSize);
    next += 1;
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${sliceStart}..${sliceStart + sliceSize - 1}`);
}
