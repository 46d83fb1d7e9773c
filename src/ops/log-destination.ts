// The server's log destination. Lines are held as they come and written, synchronously (as pino's own default
// destination and nginx's access log write), up to 32 KiB at a time: when that is full or 100 ms after the first
// line, like nginx's `access_log ... buffer= flush=`. A write per line, or per loop turn on the thread
// pool, cost up to 10 µs of CPU a request at 15,000 requests/s (thread-pool wake-ups, and SonicBoom re-measuring its
// pending string on each write); one write per 32 KiB costs well under 1 µs a request. Writing synchronously also
// keeps the lines in order at exit, when an asynchronous write still in flight could land after the last ones.
// The lines held are written at exit, a crash included; a SIGKILL loses at most the last 100 ms of them.
import type pino from 'pino';
import sonicBoom, { type SonicBoomOpts } from 'sonic-boom';

/** SonicBoom in contentMode 'buffer' (its types declare only the string mode's `write`). */
interface BufferSonicBoom {
  write(chunk: Buffer): boolean;
  flush(callback: (error?: Error) => void): void;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): void;
}

// module.exports is the class itself, which the package's types call the default export's `SonicBoom`
const BufferedSonicBoom = sonicBoom as unknown as new (options: SonicBoomOpts & { contentMode: 'buffer' }) => BufferSonicBoom;

const BATCH_BYTES = 32 * 1024;
// a UTF-16 unit takes at most 3 bytes in UTF-8: the lines held never pass a batch's bytes
const BATCH_UNITS = Math.floor(BATCH_BYTES / 3);
const FLUSH_AFTER_MS = 100;

export interface BatchedDestination extends pino.DestinationStream {
  /** Writes the held lines now (pino's logger.flush). */
  flush(callback?: (error?: Error) => void): void;
}

/**
 * A file descriptor (standard output: 1), batched. SonicBoom writes each batch (retrying a pipe that is full) and
 * silences a reader that went away.
 */
export function batchedDestination(fd: number): BatchedDestination {
  const sonic = new BufferedSonicBoom({ fd, sync: true, contentMode: 'buffer' });
  let broken = false;
  // as pino does: a reader that went away (EPIPE) silences the log; any other write error is thrown
  sonic.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    broken = true;
  });
  // held as one string, encoded once per batch: appending costs less than encoding each line into a buffer
  let held = '';
  let timer: NodeJS.Timeout | undefined;
  const handOver = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (held !== '' && !broken) sonic.write(Buffer.from(held));
    held = '';
  };
  const destination = {
    write(line: string): void {
      if (held.length + line.length > BATCH_UNITS) handOver();
      held += line;
      // a line longer than a batch goes out whole, at once
      if (held.length > BATCH_UNITS) handOver();
      else timer ??= setTimeout(handOver, FLUSH_AFTER_MS).unref();
    },
    flush(callback = () => undefined): void {
      handOver();
      sonic.flush(callback);
    },
    writeHeld: handOver,
  };
  writtenAtExit(destination);
  return destination;
}

interface HeldLines {
  writeHeld(): void;
}

/**
 * Every batched destination, for one `exit` listener that writes what each holds. Held strongly: a logger dropped
 * with lines still held would otherwise lose them. The server makes one logger; tests make a few hundred at most.
 */
const destinations = new Set<HeldLines>();

function writtenAtExit(destination: HeldLines): void {
  if (destinations.size === 0) process.once('exit', () => destinations.forEach((held) => held.writeHeld()));
  destinations.add(destination);
}
