// What the container image relies on: the HEALTHCHECK script against a real ops listener (finding the ops port
// in the config the running gatehouse was started with), and the Dockerfile's promises (pinned Node 24 base,
// non-root, ports, stop signal, entrypoint) with nothing it copies ignored.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN_JS, REPO_ROOT, startChildGatehouse, startTestGatehouse } from '../../helpers/gatehouse-process.js';
import { freePort } from '../../helpers/ports.js';

/** A PID no process can have (above the kernel's largest pid_max, 4194304): the script finds no gatehouse there. */
const NO_SUCH_PID = '4194305';

/**
 * Runs the script as the image does, from a working directory holding config/gatehouse.yaml. `pid`: the process
 * it reads gatehouse's command line, environment and working directory from (PID 1 in the image).
 */
function runHealthcheck(env: NodeJS.ProcessEnv, cwd = REPO_ROOT, pid = NO_SUCH_PID): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'docker/healthcheck.js'), pid], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/**
 * A process whose command line reads like gatehouse's (`node -e <idle> dist/src/main.js start <args>`), as an init
 * (`docker run --init`) shows as PID 1 in front of gatehouse: the script must read the config from those args.
 */
function processWithArgs(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', MAIN_JS, 'start', ...args], {
      cwd,
      env: { PATH: process.env.PATH, ...env },
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('spawn', () => resolve(child));
  });
}

/** A working directory whose config/gatehouse.yaml (what the image reads by default) names `opsPort`. */
function imageDir(opsPort: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-healthcheck-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'gatehouse.yaml'), `ops: { host: 127.0.0.1, port: ${opsPort} }\n`);
  return dir;
}

describe('docker/healthcheck.js', () => {
  it('exits 0 while /healthz answers 200 and 1 when nothing listens on the ops port', async () => {
    const gatehouse = await startTestGatehouse({});
    try {
      expect(await runHealthcheck({ GATEHOUSE_OPS_PORT: String(gatehouse.opsPort) })).toBe(0);
    } finally {
      await gatehouse.shutdown();
    }
    expect(await runHealthcheck({ GATEHOUSE_OPS_PORT: String(await freePort()) })).toBe(1);
  });

  it('finds the ops port in the config file the image reads, not only in GATEHOUSE_OPS_PORT', async () => {
    const gatehouse = await startTestGatehouse({});
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-healthcheck-'));
    try {
      mkdirSync(join(dir, 'config'));
      writeFileSync(join(dir, 'config', 'gatehouse.yaml'), `ops: { host: 127.0.0.1, port: ${gatehouse.opsPort} }\n`);
      expect(await runHealthcheck({}, dir)).toBe(0);
    } finally {
      await gatehouse.shutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('honours `start --config PATH` of the running gatehouse over the default config file', async () => {
    const opsPort = await freePort();
    const gatehouse = await startChildGatehouse({ ops: { host: '127.0.0.1', port: opsPort } });
    // the default file names a port where nothing listens: only the --config file leads to gatehouse
    const dir = imageDir(await freePort());
    try {
      expect(await runHealthcheck({}, dir, String(gatehouse.pid))).toBe(0);
      expect(await runHealthcheck({}, dir, NO_SUCH_PID)).toBe(1);
    } finally {
      await gatehouse.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads -c PATH and --config=PATH (relative to that process's working directory), through an init, and its GATEHOUSE_* variables", async () => {
    const gatehouse = await startTestGatehouse({});
    const dir = imageDir(await freePort());
    const elsewhere = mkdtempSync(join(tmpdir(), 'gatehouse-healthcheck-pid1-'));
    const misleading = imageDir(gatehouse.opsPort);
    const children: ChildProcess[] = [];
    try {
      writeFileSync(join(elsewhere, 'mounted.yaml'), `ops: { host: 127.0.0.1, port: ${gatehouse.opsPort} }\n`);
      const cases: Array<[string, string[], NodeJS.ProcessEnv]> = [
        ['-c PATH', ['-c', join(elsewhere, 'mounted.yaml')], {}],
        ['--config=relative', ['--config=mounted.yaml'], {}],
        // no --config: the default file of that process's working directory, overridden by its environment
        ['environment', [], { GATEHOUSE_OPS_PORT: String(gatehouse.opsPort) }],
      ];
      for (const [name, args, env] of cases) {
        const pid1 = await processWithArgs(args, elsewhere, env);
        children.push(pid1);
        expect(await runHealthcheck({}, dir, String(pid1.pid)), name).toBe(0);
      }
      // the same process pointing at a closed port: unhealthy, whatever this script's own directory holds
      const wrong = await processWithArgs([], elsewhere, { GATEHOUSE_OPS_PORT: String(await freePort()) });
      children.push(wrong);
      expect(await runHealthcheck({}, misleading, String(wrong.pid))).toBe(1);
    } finally {
      for (const child of children) child.kill('SIGKILL');
      await gatehouse.shutdown();
      rmSync(dir, { recursive: true, force: true });
      rmSync(elsewhere, { recursive: true, force: true });
      rmSync(misleading, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(`${REPO_ROOT}/Dockerfile`, 'utf8');
  const instructions = dockerfile.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));

  it('builds and runs on the same Node 24 base pinned by exact version', () => {
    const bases = instructions.filter((line) => line.startsWith('FROM ')).map((line) => line.split(' ')[1]);
    expect(bases).toHaveLength(2);
    expect(bases[0]).toMatch(/^node:24\.\d+\.\d+-bookworm-slim$/);
    expect(bases[1]).toBe(bases[0]);
  });

  it('runs as node with production dependencies, the ports, the health check, SIGTERM and the CLI', () => {
    const runtime = instructions.slice(instructions.findIndex((line) => line.startsWith('FROM ') && line.includes(' AS runtime')));
    expect(runtime).toContain('USER node');
    expect(runtime).toContain('ENV NODE_ENV=production');
    // the young generation the benchmarks are measured with (Node 24 alone chose 4 times as much on a large host)
    expect(runtime).toContain('ENV NODE_OPTIONS=--max-semi-space-size=16');
    expect(runtime.some((line) => line.startsWith('RUN npm ci --omit=dev --ignore-scripts'))).toBe(true);
    expect(runtime).toContain('EXPOSE 8080 9090');
    expect(runtime.find((line) => line.startsWith('HEALTHCHECK'))).toMatch(/CMD \["node", "docker\/healthcheck\.js"\]$/);
    expect(runtime).toContain('STOPSIGNAL SIGTERM');
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/src/main.js"]');
  });

  it('copies nothing that .dockerignore leaves out of the build context', () => {
    const ignored = readFileSync(`${REPO_ROOT}/.dockerignore`, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    const copied = instructions.filter((line) => line.startsWith('COPY ') && !line.includes('--from=')).flatMap((line) => line.split(' ').slice(1, -1));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      expect(
        ignored.filter((pattern) => source === pattern || source.startsWith(`${pattern}/`)),
        source,
      ).toEqual([]);
    }
  });
});
