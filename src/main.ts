#!/usr/bin/env node
// CLI: `gatehouse [start]`, `gatehouse check-config`, `gatehouse version`, --help, --version.
import { parseArgs } from 'node:util';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { printableConfig } from './config/print.js';
import { resolveMode, type Config } from './config/schema.js';
import { ConfigError } from './errors.js';
import { startGatehouse, type Gatehouse } from './gatehouse.js';
import { buildInfo } from './version.js';
import { exitOnConfigError, exitOnSignals, exitQuietlyOnClosedStdout } from './cli/process.js';

const HELP = `gatehouse — OpenID Connect sign-in in front of an unmodified app; identity passed as headers

Usage:
  gatehouse [start] [--config PATH]     run the sidecar (default config: config/gatehouse.yaml)
  gatehouse check-config [--config PATH]
                                        run every check start runs, print the config with secrets
                                        masked (exit 0), or one line per problem (exit 2)
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

function loadOrExit(path: string | undefined): LoadedConfig {
  try {
    return loadConfig({ path });
  } catch (error) {
    return exitOnConfigError(error);
  }
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
  if (command !== 'start') exitQuietlyOnClosedStdout();

  switch (command) {
    case 'help':
      return void process.stdout.write(HELP);
    case 'version':
      return void process.stdout.write(`${versionLine()}\n`);
    case 'check-config': {
      const { config, modeReason } = loadOrExit(values.config);
      process.stdout.write(
        `${JSON.stringify({ mode: resolveMode(config), mode_reason: modeReason, config: printableConfig(config) }, null, 2)}\nconfig is valid\n`,
      );
      return;
    }
    case 'start': {
      const { config, modeReason } = loadOrExit(values.config);
      const gatehouse: Gatehouse = await startGatehouse(config).catch(exitOnConfigError);
      if (config.mode === 'auto' && gatehouse.mode === 'local') {
        gatehouse.logger.warn(
          { mode: gatehouse.mode },
          `${modeReason}: single sign-on is off and every request passes through to the app (set sso.issuer and sso.client_id for SSO, or mode: local to say this is meant)`,
        );
      }
      exitOnSignals(() => gatehouse.shutdown());
      reloadOnHangup(gatehouse, values.config);
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
