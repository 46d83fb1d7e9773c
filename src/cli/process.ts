// How a gatehouse command ends: signals drain and exit, config errors print one line per problem (exit 2).
import { ConfigError } from '../errors.js';

/** A reader that went away (`gatehouse check-config | head -1`) ends the command quietly, exit 0. */
export function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) process.stderr.write(`gatehouse: config error: ${problem}\n`);
    process.exit(2);
  }
  throw error;
}

/** SIGTERM / SIGINT drain and exit 0; a second signal exits at once. */
export function exitOnSignals(stop: () => Promise<void>): void {
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
