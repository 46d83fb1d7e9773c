#!/usr/bin/env node
// CLI: `gatehouse [start]`, `gatehouse check-config`, `gatehouse demo`, `gatehouse version`, --help, --version.
import { parseArgs } from 'node:util';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { printableConfig } from './config/print.js';
import { resolveMode, type Config } from './config/schema.js';
import { ConfigError } from './errors.js';
import { startGatehouse, type Gatehouse } from './gatehouse.js';
import { buildInfo } from './version.js';

const HELP = `gatehouse — OpenID Connect sign-in in front of an unmodified app; identity passed as headers

Usage:
  gatehouse [start] [--config PATH]     run the sidecar (default config: config/gatehouse.yaml)
  gatehouse check-config [--config PATH]
                                        run every check start runs, print the config with secrets
                                        masked (exit 0), or one line per problem (exit 2)
  gatehouse demo                        run the demo: a development OpenID provider on :8081,
                                        a demo app on :3000 and gatehouse on :8080
  gatehouse version                     print the version and the git commit it was built from
  gatehouse --help | --version

Every config key can be set from the environment: GATEHOUSE_UPSTREAM_URL overrides upstream.url,
GATEHOUSE_SSO_CLIENT_SECRET overrides sso.client_secret; any other GATEHOUSE_* variable is an error.
Invalid config exits with code 2.
`;

function versionLine(): string {
  const { version, commit } = buildInfo();
  return `gatehouse ${version} (commit ${commit})`;
}

/** A reader that went away (`gatehouse check-config | head -1`) ends the command quietly, exit 0. */
function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) process.stderr.write(`gatehouse: config error: ${problem}\n`);
    process.exit(2);
  }
  throw error;
}

function loadOrExit(path: string | undefined): LoadedConfig {
  try {
    return loadConfig({ path });
  } catch (error) {
    return exitOnConfigError(error);
  }
}

/** SIGTERM / SIGINT drain and exit 0; a second signal exits at once. */
function exitOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`gatehouse: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** SIGHUP re-reads the config file (and the environment); an invalid one is refused and the running config stays. */
function reloadOnHangup(gatehouse: Gatehouse, path: string | undefined): void {
  process.on('SIGHUP', () => {
    let config: Config;
    try {
      config = loadConfig({ path }).config;
    } catch (error) {
      return refuseReload(gatehouse, error);
    }
    gatehouse.reload(config).catch((error: unknown) => refuseReload(gatehouse, error));
  });
}

function refuseReload(gatehouse: Gatehouse, error: unknown): void {
  const problems = error instanceof ConfigError ? error.problems : [error instanceof Error ? error.message : String(error)];
  for (const problem of problems) process.stderr.write(`gatehouse: config error: ${problem}\n`);
  gatehouse.logger.error({ problems }, 'config reload refused; the running config stays in force');
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  const command = values.help ? 'help' : values.version ? 'version' : (positionals[0] ?? 'start');
  if (command !== 'start' && command !== 'demo') exitQuietlyOnClosedStdout();

  switch (command) {
    case 'help':
      return void process.stdout.write(HELP);
    case 'version':
      return void process.stdout.write(`${versionLine()}\n`);
    case 'check-config': {
      const { config, modeReason } = loadOrExit(values.config);
      process.stdout.write(`${JSON.stringify({ mode: resolveMode(config), mode_reason: modeReason, config: printableConfig(config) }, null, 2)}\nconfig is valid\n`);
      return;
    }
    case 'start': {
      const { config, modeReason } = loadOrExit(values.config);
      const gatehouse: Gatehouse = await startGatehouse(config).catch(exitOnConfigError);
      if (config.mode === 'auto' && gatehouse.mode === 'local') {
        gatehouse.logger.warn({ mode: gatehouse.mode }, `${modeReason}: single sign-on is off and every request passes through to the app (set sso.issuer and sso.client_id for SSO, or mode: local to say this is meant)`);
      }
      exitOnSignals(() => gatehouse.shutdown());
      reloadOnHangup(gatehouse, values.config);
      return;
    }
    case 'demo': {
      const { startDemoStack } = await import('./demo/stack.js').catch((error: unknown) => {
        if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
        process.stderr.write('gatehouse: the demo needs the development dependencies (run `npm install` in the gatehouse checkout)\n');
        process.exit(1);
      });
      const stack = await startDemoStack({ configPath: values.config }).catch(exitOnConfigError);
      exitOnSignals(() => stack.stop());
      return;
    }
    default:
      process.stderr.write(`gatehouse: unknown command "${command}"\n\n${HELP}`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`gatehouse: ${message}\n`);
  const usage = typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code.startsWith('ERR_PARSE_ARGS');
  process.exit(usage ? 2 : 1);
});
