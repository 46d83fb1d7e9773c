// Child processes of the bench: spawning, waiting until they listen, CPU and RSS from /proc, and stopping every one on exit or Ctrl-C.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectOutcome } from '../../test/helpers/ports.js';
import { waitFor } from '../../test/helpers/wait.js';

/** @typedef {import('node:child_process').ChildProcess} ChildProcess */

/** @type {Set<ChildProcess>} */
const running = new Set();
/** @type {Set<string>} */
const tempDirs = new Set();

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Kills whatever is still running and removes temp dirs; synchronous, so it also works from process 'exit'. */
function killAllNow() {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  running.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, stopping child processes`);
    killAllNow();
    process.exit(128 + constants.signals[signal]);
  });
}

/** A temp dir removed when the bench exits. */
export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

/**
 * Spawns a child that is stopped at bench exit.
 * @param {string} command
 * @param {string[]} args
 * @param {import('node:child_process').SpawnOptions} options
 * @returns {ChildProcess}
 */
export function spawnTracked(command, args, options) {
  const child = spawn(command, args, options);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/**
 * Spawns a node script that prints one JSON line `{"url": ...}` on stdout when it listens.
 * @param {string} script path of the script
 * @param {string[]} args
 * @param {string[]} [nodeArgs] flags for node itself (e.g. --cpu-prof)
 * @param {string[]} [launcher] a command that execs node (same pid), e.g. into a cgroup (bench/lib/memory-cgroup.js)
 * @returns {Promise<{ child: ChildProcess, url: string }>}
 */
export function startNodeServer(script, args, nodeArgs = [], launcher = []) {
  const [command = process.execPath, ...prefix] = [...launcher, process.execPath];
  const child = spawnTracked(command, [...prefix, ...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: /** @type {import('node:stream').Readable} */ (child.stdout) });
    const onExit = (code) => reject(new Error(`${script} exited with code ${code} before listening`));
    child.once('exit', onExit);
    lines.once('line', (line) => {
      child.off('exit', onExit);
      child.stdout?.resume();
      resolve({ child, url: JSON.parse(line).url });
    });
  });
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resolves once a TCP connect to 127.0.0.1:port succeeds. */
export async function waitForPort(port, timeoutMs = 10000) {
  await waitFor(async () => (await connectOutcome(port)) === 'connected', { timeoutMs, intervalMs: 50, what: `a listener on 127.0.0.1:${port}` });
}

/** Fields of /proc/<pid>/stat after the command name (index 0 is field 3, the state), or undefined once it is gone. */
function statFields(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Live descendants of `pid` (children, their children, …), found by each process's ppid. */
function descendants(pid) {
  /** @type {Map<number, number[]>} */
  const childrenOf = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(name)?.[1]);
    childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), Number(name)]);
  }
  const found = [];
  for (let queue = [pid]; queue.length > 0;) {
    const children = childrenOf.get(/** @type {number} */ (queue.pop())) ?? [];
    found.push(...children);
    queue.push(...children);
  }
  return found;
}

/**
 * CPU time (user + system, all threads) a process and its descendants have used so far, in milliseconds: a server
 * with worker processes (Apache's children) counts whole. Children already reaped count through the parent's cutime
 * and cstime, so the sum does not drop when one exits.
 */
export function cpuMs(pid) {
  const own = statFields(pid);
  if (!own) throw new Error(`process ${pid} is gone`);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const child of descendants(pid)) {
    const fields = statFields(child);
    if (fields) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size and its peak so far, in KiB. */
export function memoryKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const read = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: read('VmRSS'), peak: read('VmHWM') };
}
