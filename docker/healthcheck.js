// Container HEALTHCHECK: GET /healthz on the ops listener over loopback; exit 0 on 200.
// A node script rather than curl, so the runtime image needs nothing beyond Node. The ops address comes from the
// config the image starts with (config/gatehouse.yaml in the working directory plus the GATEHOUSE_* variables);
// when that cannot be read, from GATEHOUSE_OPS_PORT (default 9090).
import { request } from 'node:http';
import process from 'node:process';
import { loadConfig } from '../dist/src/config/load.js';

function opsAddress() {
  try {
    const { ops } = loadConfig().config;
    const wildcard = ops.host === '0.0.0.0' || ops.host === '::' || ops.host === '';
    return { host: wildcard ? '127.0.0.1' : ops.host, port: ops.port };
  } catch {
    return { host: '127.0.0.1', port: Number(process.env.GATEHOUSE_OPS_PORT || 9090) };
  }
}

const { host, port } = opsAddress();
const req = request({ host, port, path: '/healthz', timeout: 2000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
