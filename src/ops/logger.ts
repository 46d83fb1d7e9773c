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
  '*.client_key',
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'client_key',
];

let stampedMs = 0;
let stamp = '';

/** pino's ISO time field, formatted once per millisecond: under load many lines share one. */
function isoTimestamp(): string {
  const now = Date.now();
  if (now !== stampedMs) {
    stampedMs = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

export interface LoggerOptions {
  level: string;
  /** Write synchronously (tests, CLI); the server uses an async destination so logging never blocks a request. */
  sync?: boolean;
  destination?: NodeJS.WritableStream | pino.DestinationStream;
}

const LINE_SHAPE = {
  base: { service: 'gatehouse' },
  timestamp: isoTimestamp,
  formatters: { level: (label: string) => ({ level: label }) },
} satisfies pino.LoggerOptions;

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: options.sync ?? false });
  return pino({ ...LINE_SHAPE, level: options.level, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}

const accessLoggers = new WeakMap<Logger, Logger>();

/**
 * A logger for the per-request access line only: same destination and line shape as `logger`, without the
 * redaction pass, which costs on every line although an access line never carries a field it censors
 * (request id, method, path without query, status, duration, bytes, client address, user agent, and with
 * log.access_user the user's sub). Callers check `logger.isLevelEnabled`
 * so a level change on `logger` (config reload) applies.
 */
export function accessLoggerOf(logger: Logger): Logger {
  let access = accessLoggers.get(logger);
  if (access === undefined) {
    const stream = (logger as unknown as Record<symbol, pino.DestinationStream | undefined>)[pino.symbols.streamSym];
    access = stream === undefined ? logger : pino({ ...LINE_SHAPE, level: 'info' }, stream);
    accessLoggers.set(logger, access);
  }
  return access;
}

/** Flushes an async destination before exit. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // a destination that is not a SonicBoom has nothing to flush
  }
}
