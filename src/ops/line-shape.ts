// What every log line carries, whoever writes it (pino, or the access line formatted directly): level, time, service.
import type pino from 'pino';

export const SERVICE = 'gatehouse';

let stampedMs = 0;
let stamp = '';

/** pino's ISO time field, formatted once per millisecond: under load many lines share one. */
export function isoTimestamp(): string {
  const now = Date.now();
  if (now !== stampedMs) {
    stampedMs = now;
    stamp = `,"time":"${new Date(now).toISOString()}"`;
  }
  return stamp;
}

export const LINE_SHAPE = {
  base: { service: SERVICE },
  timestamp: isoTimestamp,
  formatters: { level: (label: string) => ({ level: label }) },
} satisfies pino.LoggerOptions;
