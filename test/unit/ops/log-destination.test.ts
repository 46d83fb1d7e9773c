import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { batchedDestination } from '../../../src/ops/log-destination.js';
import { waitFor } from '../../helpers/wait.js';

describe('batchedDestination', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-log-destination-'));
  let fd = -1;
  const open = (): string => {
    const file = join(dir, `log-${Date.now()}-${Math.random()}`);
    fd = openSync(file, 'a');
    return file;
  };
  afterEach(() => {
    if (fd !== -1) closeSync(fd);
    fd = -1;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds lines until 100 ms after the first, then writes them in order', async () => {
    const file = open();
    const destination = batchedDestination(fd);
    const started = Date.now();
    destination.write('{"n":1}\n');
    destination.write('{"n":2,"text":"ü€😀"}\n');
    expect(readFileSync(file, 'utf8')).toBe('');
    await waitFor(() => readFileSync(file, 'utf8') !== '', { timeoutMs: 2000, intervalMs: 5, what: 'the batch written' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2,"text":"ü€😀"}\n');
  });

  it('writes a full batch at once, and a line longer than a batch whole, after the lines before it', async () => {
    const file = open();
    const destination = batchedDestination(fd);
    const short = Array.from({ length: 400 }, (_, i) => `{"line":${i},"pad":"${'x'.repeat(100)}"}\n`);
    for (const line of short) destination.write(line);
    const long = `{"long":"${'y'.repeat(40_000)}"}\n`;
    destination.write(long);
    destination.write('{"after":true}\n');
    await waitFor(() => readFileSync(file, 'utf8').includes('"after"'), { timeoutMs: 2000, intervalMs: 5, what: 'the last line written' });
    expect(readFileSync(file, 'utf8')).toBe(`${short.join('')}${long}{"after":true}\n`);
  });

  it('flush hands over what it holds without waiting for the 100 ms', async () => {
    const file = open();
    // the batch's timer never fires: only flush can write the line
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const destination = batchedDestination(fd);
      destination.write('{"flushed":true}\n');
      destination.flush();
    } finally {
      vi.useRealTimers();
    }
    await waitFor(() => readFileSync(file, 'utf8') !== '', { timeoutMs: 2000, intervalMs: 2, what: 'the flushed line written' });
    expect(readFileSync(file, 'utf8')).toBe('{"flushed":true}\n');
  });
});
