// Ports for test servers that must be known before they listen (a redirect_uri registered at the provider) or that
// a test restarts on the same port. A port from bind(0) is an ephemeral one: once that probe closes, the kernel may
// hand it to any outgoing connection of a parallel test file before the server listens on it (EADDRINUSE in CI).
// So ports come from below the ephemeral range, in a slice of it per vitest worker, and are probed before use.
// Plain JavaScript (types in ports.d.ts) so that the bench and the soak script, which node runs directly, use it too.
import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import process from 'node:process';

const LOWEST = 10_000;
const SLICES = 16;

function ephemeralLow() {
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

/** @param {number} port @returns {Promise<boolean>} */
function canListen(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * The Fetch standard's "bad ports": Node's fetch (undici) and browsers refuse to connect to them ("bad port"), so a
 * provider or gatehouse listening on one is unreachable for the test (it failed a CI run on 10080).
 */
const FETCH_BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137,
  139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** A port nothing listens on, outside the kernel's ephemeral range and the fetch bad ports, not handed out before by this worker. */
export async function freePort() {
  for (let tries = 0; tries < sliceSize; tries += 1) {
    const port = sliceStart + (next % sliceSize);
    next += 1;
    if (!FETCH_BAD_PORTS.has(port) && (await canListen(port))) return port;
  }
  throw new Error(`no free port in ${sliceStart}..${sliceStart + sliceSize - 1}`);
}

/**
 * Whether a TCP connection to 127.0.0.1:`port` is accepted right now: 'connected', or the error code (e.g. ECONNREFUSED).
 * @param {number} port
 * @returns {Promise<string>}
 */
export function connectOutcome(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error) => resolve(/** @type {NodeJS.ErrnoException} */ (error).code ?? 'error'));
  });
}
