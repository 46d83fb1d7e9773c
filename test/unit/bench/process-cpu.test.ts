// The bench's CPU reading counts a server's worker processes: a process's CPU includes its children's, live or reaped.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

const { cpuMs } = (await import(new URL('../../../bench/lib/processes.js', import.meta.url).href)) as { cpuMs: (pid: number) => number };

// The child burns 500 ms of CPU, says so with its pid and stays alive; the parent relays that and says when it reaped it.
const CHILD = `const t = process.cpuUsage(); while ((({ user, system }) => user + system)(process.cpuUsage(t)) < 500_000); console.log('burned ' + process.pid); setInterval(() => {}, 1000);`;
const PARENT = `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(CHILD)}], { stdio: ['ignore', 'inherit', 'inherit'] }); c.on('exit', () => console.log('reaped')); setInterval(() => {}, 1000);`;

/** utime + stime of the process alone, read the way the bench read it before it counted children. */
function ownCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
}

let parent: ChildProcess | undefined;

afterEach(() => {
  parent?.kill('SIGKILL');
  parent = undefined;
});

describe('cpuMs', () => {
  it('counts a live child and, once reaped, keeps counting it through the parent', async () => {
    parent = spawn(process.execPath, ['-e', PARENT], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: parent.stdout! })[Symbol.asyncIterator]();
    const burned = String((await lines.next()).value);
    const childPid = Number(/^burned (\d+)$/.exec(burned)?.[1]);
    expect(childPid).toBeGreaterThan(0);

    const parentOwn = ownCpuMs(parent.pid!);
    const childCpu = cpuMs(childPid);
    expect(childCpu).toBeGreaterThan(0);
    expect(cpuMs(parent.pid!)).toBeGreaterThanOrEqual(parentOwn + childCpu);

    process.kill(childPid, 'SIGKILL');
    expect((await lines.next()).value).toBe('reaped');
    expect(cpuMs(parent.pid!)).toBeGreaterThanOrEqual(parentOwn + childCpu);
  });

  it('throws for a process that is gone', () => {
    expect(() => cpuMs(2 ** 22 + 1)).toThrow(`process ${2 ** 22 + 1} is gone`);
  });
});
