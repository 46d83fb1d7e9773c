// Running gatehouse in tests: in this process (with a readable logger), as a child process of the built CLI,
// and a raw HTTP/1.1 exchange for requests a normal client would rewrite.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { startGatehouse, type Gatehouse } from '../../src/gatehouse.js';
import { createLogger } from '../../src/ops/logger.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A module of the build (`npm test` builds first), for child processes that run gatehouse's code as shipped. */
export const distModule = (path: string): string => join(REPO_ROOT, 'dist/src', path);
export const MAIN_JS = distModule('main.js');

export type LogLine = Record<string, unknown> & { msg: string };

export interface TestGatehouse extends Gatehouse {
  /** Every log line written so far, parsed. */
  logs: LogLine[];
  /** Every log line written so far, as written. */
  logText(): string;
}

/** Local-mode base config on loopback ports chosen by the OS; `tree` is merged over it (one level deep). */
function testConfigTree(tree: Record<string, unknown>): Record<string, unknown> {
  const base: Record<string, Record<string, unknown> | string> = {
    mode: 'local',
    listen: { host: '127.0.0.1', port: 0 },
    ops: { host: '127.0.0.1', port: 0 },
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(tree)) {
    const current = merged[key];
    merged[key] = current && typeof current === 'object' && value && typeof value === 'object' && !Array.isArray(value) ? { ...current, ...value } : value;
  }
  return merged;
}

/** Starts gatehouse in this process with its log lines collected. */
export async function startTestGatehouse(tree: Record<string, unknown>): Promise<TestGatehouse> {
  const config = validateConfig(testConfigTree(tree));
  let text = '';
  const logs: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const written = chunk.toString();
      text += written;
      for (const line of written.split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  const logger = createLogger({ level: 'info', sync: true, destination });
  const gatehouse = await startGatehouse(config, { logger, defaultMetrics: false });
  return Object.assign(gatehouse, { logs, logText: () => text });
}

export interface ChildGatehouse {
  child: ChildProcess;
  pid: number;
  url: string;
  opsUrl: string;
  /** The YAML file the child was started with (rewrite it and send SIGHUP to reload). */
  configPath: string;
  port: number;
  /** Parsed JSON log lines from stdout so far. */
  logs: LogLine[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the child if it still runs and removes its config directory. */
  dispose(): Promise<void>;
}

/** Runs `node dist/src/main.js start --config <tree as YAML>` and waits for its `gatehouse listening` line. */
export async function startChildGatehouse(
  tree: Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
): Promise<ChildGatehouse> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const configPath = join(dir, 'gatehouse.yaml');
  writeFileSync(configPath, stringify(testConfigTree(tree)));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MAIN_JS, 'start', '--config', configPath], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stderr = '';
  let pending = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<LogLine>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const parsed = JSON.parse(line) as LogLine;
        logs.push(parsed);
        if (parsed.msg === 'gatehouse listening') resolve(parsed);
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    void exited.then(({ code }) => reject(new Error(`gatehouse exited with ${code} before listening: ${stderr}`)));
  });
  const dispose = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ready = await listening;
    // `url` is public_url in cloud mode; `listen` is the socket the test connects to
    const url = typeof ready.listen === 'string' ? `http://${ready.listen}` : String(ready.url);
    return {
      child,
      pid: child.pid as number,
      url,
      opsUrl: String(ready.ops),
      configPath,
      port: Number(new URL(url).port),
      logs,
      stderr: () => stderr,
      exited,
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN_JS, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface RawResponse {
  status: number;
  /** Flat [name, value, …] list as received. */
  rawHeaders: string[];
  body: string;
  /** Every byte received, as latin1 text. */
  raw: string;
}

/** Writes `head` (and `body`) verbatim on a fresh socket and reads until the server closes it. */
export function rawRequest(url: string, head: string, body?: string | Buffer): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('end', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const lines = raw.slice(0, split).split('\r\n');
      const rawHeaders: string[] = [];
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        rawHeaders.push(line.slice(0, colon), line.slice(colon + 1).trim());
      }
      const chunked = rawHeaders.some((value, i) => i % 2 === 1 && rawHeaders[i - 1]?.toLowerCase() === 'transfer-encoding' && value === 'chunked');
      const body = raw.slice(split + 4);
      resolve({ status: Number((lines[0] ?? '').split(' ')[1]), rawHeaders, body: chunked ? dechunk(body) : body, raw });
      socket.destroy();
    });
    socket.write(head);
    if (body !== undefined) socket.write(body);
  });
}

function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf('\r\n', at);
    const size = Number.parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** One request over node:http on its own connection (no agent), body read whole. */
export function sendRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string> | string[]; body?: string | Buffer } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.once('error', reject);
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }));
    });
    req.once('error', reject);
    req.end(options.body);
  });
}

/** Config files written to a temporary folder for one test file; `remove` deletes the folder. */
export function temporaryYamlFiles(prefix: string): { dir: string; write(text: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let files = 0;
  return {
    dir,
    write(text) {
      const path = join(dir, `config-${++files}.yaml`);
      writeFileSync(path, text);
      return path;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
