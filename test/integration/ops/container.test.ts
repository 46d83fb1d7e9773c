// What the container image relies on: the HEALTHCHECK script against a real ops listener, and the Dockerfile's
// promises (pinned Node 24 base, non-root, ports, stop signal, entrypoint) with nothing it copies ignored.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, startTestGatehouse } from '../../helpers/gatehouse-process.js';
import { closedPort } from '../../helpers/upstream.js';

/** Runs the script as the image does, from a working directory holding config/gatehouse.yaml. */
function runHealthcheck(env: NodeJS.ProcessEnv, cwd = REPO_ROOT): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'docker/healthcheck.js')], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

describe('docker/healthcheck.js', () => {
  it('exits 0 while /healthz answers 200 and 1 when nothing listens on the ops port', async () => {
    const gatehouse = await startTestGatehouse({});
    try {
      expect(await runHealthcheck({ GATEHOUSE_OPS_PORT: String(gatehouse.opsPort) })).toBe(0);
    } finally {
      await gatehouse.shutdown();
    }
    expect(await runHealthcheck({ GATEHOUSE_OPS_PORT: String(await closedPort()) })).toBe(1);
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
    expect(runtime.some((line) => line.startsWith('RUN npm ci --omit=dev --ignore-scripts'))).toBe(true);
    expect(runtime).toContain('EXPOSE 8080 9090');
    expect(runtime.find((line) => line.startsWith('HEALTHCHECK'))).toMatch(/CMD \["node", "docker\/healthcheck\.js"\]$/);
    expect(runtime).toContain('STOPSIGNAL SIGTERM');
    expect(runtime).toContain('ENTRYPOINT ["node", "dist/src/main.js"]');
  });

  it('copies nothing that .dockerignore leaves out of the build context', () => {
    const ignored = readFileSync(`${REPO_ROOT}/.dockerignore`, 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    const copied = instructions.filter((line) => line.startsWith('COPY ') && !line.includes('--from=')).flatMap((line) => line.split(' ').slice(1, -1));
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      expect(ignored.filter((pattern) => source === pattern || source.startsWith(`${pattern}/`)), source).toEqual([]);
    }
  });
});
