// The server's logger holds lines for up to 100 ms (src/ops/log-destination.ts): whatever way the process ends
// short of SIGKILL, every line written before reaches standard output.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { distModule } from '../../helpers/gatehouse-process.js';

const LOGGER = distModule('ops/logger.js');

function run(ending: string): { lines: string[]; status: number | null } {
  const script = `
    import { accessLogOf, createLogger } from ${JSON.stringify(LOGGER)};
    const logger = createLogger({ level: 'info' });
    for (let i = 0; i < 500; i++) accessLogOf(logger)({ reqId: 'r' + i, method: 'GET', path: '/p', status: 200 }, { remote: '127.0.0.1' });
    logger.info({ big: 'x'.repeat(40000) }, 'long line');
    logger.info('last line');
    ${ending}`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  return { lines: child.stdout.split('\n').filter(Boolean), status: child.status };
}

describe('log lines held in the batch at exit', () => {
  it.each([
    ['the event loop runs empty', ''],
    ['process.exit is called', 'process.exit(3);'],
    ['an uncaught exception ends it', "throw new Error('crash');"],
    ['SIGTERM is handled by exiting', "process.on('SIGTERM', () => process.exit(0)); process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 1000);"],
  ])('are all written when %s', (_, ending) => {
    const { lines } = run(ending);
    expect(lines).toHaveLength(502);
    const parsed = lines.map((line) => JSON.parse(line) as { reqId?: string; msg: string });
    expect(parsed.slice(0, 500).map((line) => line.reqId)).toEqual(Array.from({ length: 500 }, (_, i) => `r${i}`));
    expect(parsed.slice(500).map((line) => line.msg)).toEqual(['long line', 'last line']);
  });
});
