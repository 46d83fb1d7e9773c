// Idle-timeout extensions for a shared store, batched: a session's TTL is extended at most once per interval, and
// the extensions due within a second go out together.
import type { SessionRecord } from './types.js';

const FLUSH_DELAY_MS = 1000;

export interface TouchBatcherOptions {
  /** Least time between two extensions of one session. */
  intervalMs: number;
  /** Sends the extensions of these sessions; failures are the sender's to report. */
  extend: (records: SessionRecord[]) => Promise<void>;
}

export class TouchBatcher {
  private readonly extendedAt = new WeakMap<SessionRecord, number>();
  private readonly pending = new Map<string, SessionRecord>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TouchBatcherOptions) {}

  /** The store's TTL of this record covers idle time from `at` on (it was just written or read). */
  extended(record: SessionRecord, at: number): void {
    this.extendedAt.set(record, at);
  }

  touch(record: SessionRecord, now: number): void {
    const extended = this.extendedAt.get(record);
    if (extended !== undefined && now - extended < this.options.intervalMs) return;
    this.extendedAt.set(record, now);
    this.pending.set(record.key, record);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  /** Sends what is pending now (also on close). */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const records = [...this.pending.values()];
    this.pending.clear();
    await this.options.extend(records);
  }
}
