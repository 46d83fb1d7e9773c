import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { accessLine, type AccessRecord, type Requester } from '../../../src/ops/access-line.js';
import { LINE_SHAPE } from '../../../src/ops/line-shape.js';

/** What pino writes for the same fields, with the same line shape: the line the access log replaced. */
function pinoLine(record: AccessRecord, who: Requester): string {
  let written = '';
  pino({ ...LINE_SHAPE, level: 'info' }, { write: (line: string) => void (written += line) }).info({ ...record, ...who }, 'request');
  return written;
}

describe('accessLine', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-30T18:30:00.123Z'));
  });
  afterEach(() => vi.useRealTimers());

  const request: AccessRecord = { reqId: 'f3b0c2a4-1111-4222-8333-944455556666', method: 'GET', path: '/fixed', status: 200, ms: 0.4, bytes: 1187 };

  it.each<[string, AccessRecord, Requester]>([
    ['a forwarded request', request, { remote: '203.0.113.9', peer: '127.0.0.1', ua: 'curl/8.5.0', sub: 'alice' }],
    ['a request without a user agent', request, { remote: '127.0.0.1' }],
    ['an upgrade', { reqId: 'up-1', method: 'GET', path: '/ws', status: 101, upgrade: true }, { remote: '127.0.0.1', ua: 'ws' }],
    ['a request the parser refused', { reqId: 'bad-1', status: 431, refused: 'HPE_HEADER_OVERFLOW' }, { remote: '127.0.0.1' }],
    ['a socket without an address', { reqId: 'bad-2', status: 400, refused: 'HPE_INVALID_METHOD' }, { remote: undefined }],
  ])('writes %s byte for byte as pino did', (_, record, who) => {
    expect(accessLine(record, who)).toBe(pinoLine(record, who));
  });

  it('keeps hostile values inside their JSON string, on one line', () => {
    const path = '/a"b\\c\nd\r\u2028\u0000\u001f😀';
    const ua = '"},"status":500,"x":"';
    const line = accessLine({ ...request, path }, { remote: '127.0.0.1', ua });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toMatchObject({ path, ua, status: 200, msg: 'request' });
    expect(line).toBe(pinoLine({ ...request, path }, { remote: '127.0.0.1', ua }));
  });

  it.each(['/plain', '/caf\u00e9/\u007f', '/a"b', '/a\\b', '/tab\there', '/\u001f', '/pair\ud83d\ude00', '/lone\ud800', '/lone\udfff/x', ''])(
    'writes %j as JSON.stringify does',
    (path) => {
      expect(accessLine({ ...request, path }, { ua: path })).toContain(`"path":${JSON.stringify(path)},"status":200`);
      expect(accessLine({ ...request, path }, { ua: path })).toContain(`"ua":${JSON.stringify(path)},"msg"`);
    },
  );
});
