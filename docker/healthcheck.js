// Container HEALTHCHECK: GET /healthz on the ops port (GATEHOUSE_OPS_PORT, default 9090) over loopback; exit 0 on 200.
// A node script rather than curl, so the runtime image needs nothing beyond Node.
import { request } from 'node:http';
import process from 'node:process';

const port = Number(process.env.GATEHOUSE_OPS_PORT || 9090);
const req = request({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
