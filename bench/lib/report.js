// The results table: machine header, medians over rounds, one markdown table with ratios against direct.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release } from 'node:os';

/**
 * @typedef {object} Measurement
 * @property {number} rps
 * @property {number} [p50] ms
 * @property {number} [p99] ms
 * @property {number} [serialP50] µs
 * @property {number} [serialP99] µs
 * @property {number} cpuPer1k
 * @property {number} requests answered during the measurement
 * @property {number} failures
 */

/**
 * @typedef {object} Row
 * @property {string} scenario
 * @property {string} target
 * @property {string} [baseline] scenario whose direct row the ratio is taken against (default: this scenario)
 * @property {string} unit 'req/s' or 'msg/s'
 * @property {Measurement[]} rounds
 */

export function median(values) {
  const present = values.filter((v) => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  if (present.length === 0) return undefined;
  const mid = Math.floor(present.length / 2);
  return present.length % 2 ? present[mid] : (present[mid - 1] + present[mid]) / 2;
}

function packageVersion(name) {
  try {
    const require = createRequire(import.meta.url);
    return /** @type {{ version: string }} */ (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8'))).version;
  } catch {
    return '?';
  }
}

/** A title and the lines describing the machine, the versions and the date. */
export function machineHeader(title) {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  let nproc = String(cpus().length);
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // cpus().length stands in
  }
  let nginx = 'not installed';
  try {
    nginx = execFileSync('sh', ['-c', 'nginx -v 2>&1'], { encoding: 'utf8' })
      .trim()
      .replace(/^nginx version: /, '');
  } catch {
    // the nginx row is skipped then
  }
  return [
    `# ${title}`,
    '',
    `- machine: nproc ${nproc}, ${model}, Linux ${release()}`,
    `- Node ${process.version}, undici ${packageVersion('undici')}, autocannon ${packageVersion('autocannon')}, http-proxy ${packageVersion('http-proxy')}, nginx ${nginx}`,
    `- date: ${new Date().toISOString()}`,
    // flags for every node process of the run (the bench's children inherit them), e.g. the image's young generation
    ...(process.env.NODE_OPTIONS ? [`- NODE_OPTIONS: ${process.env.NODE_OPTIONS}`] : []),
  ];
}

/** How busy the machine is: 1-minute load average and, where the kernel has it, the share of time tasks waited for a CPU. */
export function machineLoad() {
  const load = `load average ${loadavg()[0].toFixed(2)}`;
  try {
    const waiting = /^some avg10=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1];
    return waiting === undefined ? load : `${load}, CPU pressure ${waiting} % (tasks waiting for a CPU, last 10 s)`;
  } catch {
    return load;
  }
}

const fmt = (value, digits = 0) =>
  value === undefined ? '—' : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * One markdown table: per row the medians and the ratio against the direct row of the same scenario.
 * @param {Row[]} rows
 */
export function resultsTable(rows) {
  const lines = [
    '| scenario | target | throughput (c50) | vs direct | p50 ms (c50) | p99 ms (c50) | p50 µs (c1) | p99 µs (c1) | CPU-ms / 1k |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of rows) {
    const m = (key) => median(row.rounds.map((r) => r[key]));
    const direct = rows.find((r) => r.scenario === (row.baseline ?? row.scenario) && r.target === 'direct');
    const directRps = direct ? median(direct.rounds.map((r) => r.rps)) : undefined;
    const rps = m('rps');
    const ratio = rps !== undefined && directRps ? `${fmt(rps / directRps, 2)}×` : '—';
    const failures = row.rounds.reduce((sum, r) => sum + r.failures, 0);
    const flag = failures > 0 ? ` ⚠ ${failures} failed` : '';
    lines.push(
      `| ${row.scenario} | ${row.target}${flag} | ${fmt(rps)} ${row.unit} | ${ratio} | ${fmt(m('p50'))} | ${fmt(m('p99'))} | ${fmt(m('serialP50'))} | ${fmt(m('serialP99'))} | ${fmt(m('cpuPer1k'), 1)} |`,
    );
  }
  return lines;
}

/**
 * The targets, each PASS or MISS with its numbers, from the rows of one scenario (signed-in = gatehouse-cloud).
 * @param {Row[]} rows
 * @param {string} scenario
 */
export function targetChecks(rows, scenario) {
  const of = (target, key) => {
    const row = rows.find((r) => r.scenario === scenario && r.target === target);
    return row ? median(row.rounds.map((r) => r[key])) : undefined;
  };
  const verdict = (pass) => (pass ? 'PASS' : 'MISS');
  const atLeast = (label, a, b, factor) => {
    const [x, y] = [of(a, 'rps'), of(b, 'rps')];
    if (x === undefined || y === undefined) return `- ${label}: not measured (${x === undefined ? a : b} did not run)`;
    return `- ${label}: ${verdict(x >= factor * y)}, ${fmt(x)} vs ${fmt(y)} req/s = ${fmt(x / y, 2)}× (target ≥ ${factor}×)`;
  };
  // Where the floors ran, the same numbers for the least a Node proxy does: undici-min-local for what local mode must do
  // for every request, undici-min-signed-in for that and a signed-in request's bytes.
  const LOCAL_FLOOR = 'undici-min-local';
  const FLOOR = 'undici-min-signed-in';
  const floorRatio = (label, a, b) => {
    const [x, y] = [of(a, 'rps'), of(b, 'rps')];
    return x === undefined || y === undefined ? [] : [`  - ${label}: ${fmt(x)} vs ${fmt(y)} req/s = ${fmt(x / y, 2)}×`];
  };
  const addedP99 = (target) => {
    const [p99, directP99] = [of(target, 'serialP99'), of('direct', 'serialP99')];
    if (p99 === undefined || directP99 === undefined) return undefined;
    return { p99, directP99, text: `${p99 >= directP99 ? '+' : '−'}${fmt(Math.abs(p99 - directP99) / 1000, 3)} ms` };
  };
  const lines = [
    atLeast('signed-in (assertion on) ≥ 0.9× gatehouse-local', 'gatehouse-cloud', 'gatehouse-local', 0.9),
    ...floorRatio(`floor: ${FLOOR} vs ${LOCAL_FLOOR} (the signed-in bytes alone)`, FLOOR, LOCAL_FLOOR),
    ...floorRatio(`gatehouse's own signed-in work: gatehouse-cloud vs ${FLOOR}`, 'gatehouse-cloud', FLOOR),
    atLeast('gatehouse-local ≥ 0.9× undici-min', 'gatehouse-local', 'undici-min', 0.9),
    ...floorRatio(`floor: ${LOCAL_FLOOR} vs undici-min (local mode's duties alone)`, LOCAL_FLOOR, 'undici-min'),
    ...floorRatio(`gatehouse's own local work: gatehouse-local vs ${LOCAL_FLOOR}`, 'gatehouse-local', LOCAL_FLOOR),
    atLeast('signed-in ≥ 0.7× nginx', 'gatehouse-cloud', 'nginx', 0.7),
    ...floorRatio(`floor: ${FLOOR} vs nginx`, FLOOR, 'nginx'),
  ];
  const cpu = of('gatehouse-cloud', 'cpuPer1k');
  lines.push(
    cpu === undefined
      ? '- CPU per 1,000 signed-in requests ≤ 40 ms: not measured'
      : `- CPU per 1,000 signed-in requests ≤ 40 ms: ${verdict(cpu <= 40)}, ${fmt(cpu, 1)} ms`,
  );
  const floorCpu = of(FLOOR, 'cpuPer1k');
  if (floorCpu !== undefined) lines.push(`  - floor: ${FLOOR} ${fmt(floorCpu, 1)} ms`);
  const signed = addedP99('gatehouse-cloud');
  lines.push(
    signed === undefined
      ? '- p99 at -c 1 added over direct ≤ 0.2 ms: not measured'
      : `- p99 at -c 1 added over direct ≤ 0.2 ms: ${verdict(signed.p99 - signed.directP99 <= 200)}, ${fmt(signed.p99)} µs vs ${fmt(signed.directP99)} µs = ${signed.text}`,
  );
  const floorP99 = addedP99(FLOOR);
  if (floorP99 !== undefined) lines.push(`  - floor: ${FLOOR} ${fmt(floorP99.p99)} µs = ${floorP99.text}`);
  return lines;
}

/**
 * Prints a finished report; with `--write` on the command line also writes it to `file` (the committed table).
 * @param {string} report
 * @param {string} file
 */
export function publishReport(report, file) {
  process.stdout.write(report);
  if (process.argv.includes('--write')) {
    writeFileSync(file, report);
    console.error(`bench: wrote ${file}`);
  }
}
