// pino JSON logger: asynchronous destination, and redaction so no secret can reach a line even by mistake.
import pino, { type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'cookie',
  'authorization',
  'headers.cookie',
  'headers.authorization',
  'headers["set-cookie"]',
  'req.headers.cookie',
  'req.headers.authorization',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code',
  '*.client_secret',
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
];

export interface LoggerOptions {
  level: string;
  /** Write synchronously (tests, CLI); the server uses an async destination so logging never blocks a request. */
  sync?: boolean;
  destination?: NodeJS.WritableStream | pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: options.sync ?? false });
  return pino(
    {
      level: options.level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Flushes an async destination before exit. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // a destination that is not a SonicBoom has nothing to flush
  }
}
