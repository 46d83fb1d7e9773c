// Container HEALTHCHECK: GET /healthz on the ops listener over loopback; exit 0 on 200.
// A node script rather than curl, so the runtime image needs nothing beyond Node.
//
// The ops address comes from the config the running gatehouse was started with. Docker runs this script beside
// the container's main process, not as its child, so it reads that process from /proc: its command line
// (`start --config PATH`, `--config=PATH` or `-c PATH`; also through an init such as `docker run --init`, whose
// command line holds gatehouse's), its environment (the GATEHOUSE_* overrides) and its working directory (a
// relative config path, and the default config/gatehouse.yaml). The process is PID 1 unless a PID is given as
// the first argument (`node docker/healthcheck.js 42`). Without /proc, this script's own working directory and
// environment stand in. When the config cannot be read: GATEHOUSE_OPS_PORT, else 9090.
import { readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { resolve } from 'node:path';
import process from 'node:process';
import { pathToFileURL, URL } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * The arguments after gatehouse's entry point in a command line: dist/src/main.js anywhere (also behind an init),
 * or the `gatehouse` bin as the program or the script node runs.
 */
export function gatehouseArgs(argv) {
  const entry = argv.findIndex((arg, i) => /(^|\/)dist\/src\/main\.js$/.test(arg) || (i <= 1 && /(^|\/)gatehouse$/.test(arg)));
  return entry === -1 ? undefined : argv.slice(entry + 1);
}

/** The --config value among gatehouse's arguments, parsed as main.js parses them; undefined for the default. */
export function configPathOf(args) {
  try {
    const { values } = parseArgs({ args, allowPositionals: true, strict: false, options: { config: { type: 'string', short: 'c' } } });
    return typeof values.config === 'string' ? values.config : undefined;
  } catch {
    return undefined;
  }
}

function readProc(pid, name) {
  try {
    return readFileSync(`/proc/${pid}/${name}`);
  } catch {
    return undefined;
  }
}

/** How the gatehouse process of `pid` reads its config: the --config value, working directory, environment. */
export function gatehouseProcess(pid) {
  const cmdline = readProc(pid, 'cmdline');
  const args =
    cmdline === undefined
      ? undefined
      : gatehouseArgs(
          cmdline
            .toString('utf8')
            .split('\0')
            .filter((arg) => arg !== ''),
        );
  const environ = args === undefined ? undefined : readProc(pid, 'environ');
  let cwd = process.cwd();
  if (args !== undefined) {
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // another user's process: keep this script's working directory (the image's WORKDIR as well)
    }
  }
  const env =
    environ === undefined
      ? process.env
      : Object.fromEntries(
          environ
            .toString('utf8')
            .split('\0')
            .filter((entry) => entry.includes('='))
            .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
        );
  const config = args === undefined ? undefined : configPathOf(args);
  return { config: config === undefined ? undefined : resolve(cwd, config), cwd, env };
}

async function opsAddress(pid) {
  const { config, cwd, env } = gatehouseProcess(pid);
  try {
    const { loadConfig } = await import(new URL('../dist/src/config/load.js', import.meta.url).href);
    // from gatehouse's working directory, the default config path and relative GATEHOUSE_*_FILE paths resolve alike
    process.chdir(cwd);
    const { ops } = loadConfig({ path: config, env }).config;
    const wildcard = ops.host === '0.0.0.0' || ops.host === '::' || ops.host === '';
    return { host: wildcard ? '127.0.0.1' : ops.host, port: ops.port };
  } catch {
    return { host: '127.0.0.1', port: Number(env.GATEHOUSE_OPS_PORT || 9090) };
  }
}

async function main() {
  const pid = process.argv[2] ?? '1';
  const { host, port } = await opsAddress(pid);
  const req = request({ host, port, path: '/healthz', timeout: 2000 }, (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', () => process.exit(1));
  req.end();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
