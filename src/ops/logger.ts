// pino JSON logger: batched destination (src/ops/log-destination.ts), and redaction so no secret can reach a line even by mistake.
import pino, { type Logger } from 'pino';
import { accessLine, type AccessRecord, type Requester } from './access-line.js';
import { batchedDestination } from './log-destination.js';
import { LINE_SHAPE } from './line-shape.js';

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

export interface LoggerOptions {
  level: string;
  /** Write each line at once, unbatched (tests, CLI); the server batches lines so logging costs well under a µs a request. */
  sync?: boolean;
  destination?: NodeJS.WritableStream | pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? (options.sync ? pino.destination({ dest: 1, sync: true }) : batchedDestination(1));
  return pino({ ...LINE_SHAPE, level: options.level, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
}

export type AccessLog = (record: AccessRecord, who: Requester) => void;

const accessLogs = new WeakMap<Logger, AccessLog>();

/**
 * Writes the per-request access line to `logger`'s destination, in the same line shape, without the redaction pass
 * (an access line never carries a field it censors: request id, method, path without query, status, duration,
 * bytes, client address, user agent, and with log.access_user the user's sub). Callers check
 * `logger.isLevelEnabled('info')`, so a level changed by a reload applies.
 */
export function accessLogOf(logger: Logger): AccessLog {
  let access = accessLogs.get(logger);
  if (access === undefined) {
    const stream = (logger as unknown as Record<symbol, pino.DestinationStream | undefined>)[pino.symbols.streamSym];
    access = stream === undefined ? (record, who) => logger.info({ ...record, ...who }, 'request') : (record, who) => stream.write(accessLine(record, who));
    accessLogs.set(logger, access);
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
