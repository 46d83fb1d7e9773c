// Child process for `npm run bench:memory`: gatehouse in cloud mode (the real access control and proxy server from
// dist/), its memory session store filled with N sessions shaped like the dev provider's (an RS256 ID token of
// about 1000 characters, opaque 43-character access and refresh tokens; every string its own flat copy, as JSON.parse
// makes them) in the compact form Sessions.create stores, the cookie values written to a file for the parent's load. Prints `{"url": ...}` when it listens and serves until killed.
// Usage: node bench/lib/session-memory-child.js <sessions> <upstream url> <cookie file>
import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createCloudAccess } from '../../dist/src/authorize/cloud-access.js';
import { validateConfig } from '../../dist/src/config/load.js';
import { createLogger } from '../../dist/src/ops/logger.js';
import { Metrics } from '../../dist/src/ops/metrics.js';
import { Readiness } from '../../dist/src/ops/readiness.js';
import { createProxyServer } from '../../dist/src/server.js';
import { compactRecord } from '../../dist/src/session/compact-record.js';
import { SessionCookie } from '../../dist/src/session/session-cookie.js';
import { sessionFields } from './session-shapes.js';

const [count = '0', upstreamUrl = '', cookieFile = ''] = process.argv.slice(2);
const sessions = Number(count);
const config = validateConfig({
  mode: 'cloud',
  listen: { host: '127.0.0.1', port: 0 },
  ops: { host: '127.0.0.1', port: 0 },
  public_url: 'http://127.0.0.1:1',
  upstream: { url: upstreamUrl },
  // Nothing listens here: discovery keeps retrying, which the session path does not need.
  sso: { issuer: 'http://127.0.0.1:1', client_id: 'gatehouse-bench', client_secret: 'bench-secret' },
  session: { secrets: ['bench-session-secret-0123456789-abcdefghij'], max_sessions: Math.max(sessions, 1) },
  log: { level: 'warn' },
});
// Errors only: the deliberate discovery failures would fill stdout, which carries the {"url"} line.
const logger = createLogger({ level: 'error' });
const metrics = new Metrics({ defaultMetrics: false });
const readiness = new Readiness();
const access = await createCloudAccess(config, { logger, metrics, readiness });

// Cookies exactly as gatehouse issues them (same secret, so its own SessionCookie verifies them).
const sessionCookie = new SessionCookie({ secrets: config.session.secrets, name: config.session.cookie_name, secure: false, maxAgeMs: config.session.ttl });
const now = Date.now();
const cookies = [];
for (let i = 0; i < sessions; i++) {
  const { value, key } = sessionCookie.issue();
  cookies.push(value);
  await access.store.set(compactRecord(sessionFields(i, key, now)));
}

writeFileSync(cookieFile, cookies.join('\n'));
// SIGUSR2 (the parent, at the end): a full GC, then the live heap and the ArrayBuffer bytes (the session slab) in
// <cookie file>.gc, for the "after a full GC" columns.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc');
process.on('SIGUSR2', () => {
  collect();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  writeFileSync(`${cookieFile}.gc`, JSON.stringify({ heapUsed, arrayBuffers }));
});
cookies.length = 0;
const proxy = createProxyServer({ config, access, logger, metrics });
proxy.server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${proxy.server.address().port}` })}\n`);
});
