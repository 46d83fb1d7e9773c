// Gatehouse as a bench row: the built CLI (dist/src/main.js) as a child process, config written to a temp YAML file,
// stdout (its JSON log, access log included) appended to a temp file so logging costs what it costs users.
import { existsSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { waitFor } from '../../test/helpers/wait.js';
import { makeTempDir, spawnTracked, stopChild } from './processes.js';

const MAIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const ACCESS_LINE = Buffer.from('"msg":"request"');

/** Local mode (SSO inactive, every request passes through, identity headers stripped), access log on. */
export function localModeConfig(upstreamUrl) {
  return {
    mode: 'local',
    listen: { host: '127.0.0.1', port: 0 },
    ops: { host: '127.0.0.1', port: 0 },
    upstream: { url: upstreamUrl },
    log: { level: 'info', access: true },
    shutdown: { drain_timeout: '1s' },
  };
}

/** The environment without GATEHOUSE_* keys, which would override the bench's config. */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GATEHOUSE_')));
}

async function waitForListening(logFile, child, timeoutMs = 15000) {
  let line;
  const listening = () => {
    line = readFileSync(logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes('"gatehouse listening"'));
    if (!line && child.exitCode !== null) throw new Error(`gatehouse exited with code ${child.exitCode}: ${readFileSync(logFile, 'utf8')}`);
    return line !== undefined;
  };
  await waitFor(listening, { timeoutMs, intervalMs: 50, what: 'gatehouse logging "gatehouse listening"' });
  return /** @type {{ url: string }} */ (JSON.parse(/** @type {string} */ (line))).url;
}

/**
 * @param {import('./targets.js').Upstream} upstream
 * @param {{ name?: string, note?: string, config?: (upstreamUrl: string) => object, nodeArgs?: string[], cwd?: string, main?: string }} [options]
 *   nodeArgs: flags for node itself (e.g. --cpu-prof); cwd: the child's working directory (where --cpu-prof writes);
 *   main: another build's main.js (to compare two builds in one run)
 * @returns {import('./targets.js').Target & { logFile: string, accessLogLines: () => number }}
 */
export function gatehouseTarget(upstream, options = {}) {
  const config = options.config ?? localModeConfig;
  const main = options.main ?? MAIN;
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let child;
  return {
    name: options.name ?? 'gatehouse-local',
    url: '',
    pid: 0,
    logFile: '',
    note: options.note ?? 'gatehouse-local: dist/src/main.js, mode local, log.level info with the access log on, stdout to a file',
    async start() {
      if (!existsSync(main)) throw new Error(`${main} missing: run npm run build first`);
      const dir = makeTempDir('gatehouse');
      const configFile = join(dir, 'gatehouse.yaml');
      writeFileSync(configFile, stringify(config(upstream.url)));
      this.logFile = join(dir, 'stdout.log');
      const out = openSync(this.logFile, 'a');
      child = spawnTracked(process.execPath, [...(options.nodeArgs ?? []), main, 'start', '--config', configFile], {
        stdio: ['ignore', out, 'inherit'],
        env: cleanEnv(),
        cwd: options.cwd,
      });
      closeSync(out);
      this.url = await waitForListening(this.logFile, child);
      this.pid = /** @type {number} */ (child.pid);
      return true;
    },
    accessLogLines() {
      if (!this.logFile) return 0;
      const log = readFileSync(this.logFile);
      let lines = 0;
      for (let at = log.indexOf(ACCESS_LINE); at !== -1; at = log.indexOf(ACCESS_LINE, at + ACCESS_LINE.length)) lines++;
      return lines;
    },
    async stop() {
      if (child) await stopChild(child);
    },
  };
}
