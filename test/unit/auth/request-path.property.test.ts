import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePathMatcher } from '../../../src/auth/path-matcher.js';
import { normalizeRequestPath } from '../../../src/auth/request-path.js';

const hasBackslashOrControl = (s: string): boolean =>
  [...s].some((ch) => ch === '\\' || ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);

// A model of a request-target: a list of segments whose meaning is known by
// construction, each written in one of its raw spellings. The expected path is
// computed from the meanings only, independently of the normalizer.
type Segment =
  | { kind: 'name'; name: string; raw: string }
  | { kind: 'dot' | 'dotdot' | 'empty'; raw: string }
  | { kind: 'poison'; raw: string };

const params = fc.constantFrom('', '', ';', ';jsessionid=1', ';x=');

const percentEncodeSome = (name: string, mask: readonly boolean[]): string =>
  [...name]
    .map((ch, i) => (mask[i % mask.length] ? '%' + ch.charCodeAt(0).toString(16).padStart(2, '0') : ch))
    .join('');

const nameSegment: fc.Arbitrary<Segment> = fc
  .tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('public', 'public', 'admin', 'publicity', 'x', '.well-known', '...') },
      { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'b', '-', '_', '.', '0'), minLength: 1, maxLength: 5 }) },
    ),
    fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
    params,
  )
  .filter(([name]) => name !== '.' && name !== '..')
  .map(([name, mask, p]) => ({ kind: 'name', name, raw: percentEncodeSome(name, mask) + p }));

const dotSegment: fc.Arbitrary<Segment> = fc
  .tuple(fc.constantFrom('.', '%2e', '%2E'), params)
  .map(([raw, p]) => ({ kind: 'dot', raw: raw + p }));

const dotdotSegment: fc.Arbitrary<Segment> = fc
  .tuple(fc.constantFrom('..', '%2e%2e', '%2E%2e', '.%2e', '%2e.'), params)
  .map(([raw, p]) => ({ kind: 'dotdot', raw: raw + p }));

const emptySegment: fc.Arbitrary<Segment> = fc.constantFrom<Segment>({ kind: 'empty', raw: '' }, { kind: 'empty', raw: ';x' });

const poisonSegment: fc.Arbitrary<Segment> = fc
  .tuple(
    fc.constantFrom('%2f', '%2F', '%5c', '%5C', '\\', '%00', '%0a', '%09', '%7f', '%c0%ae', '%ed%a0%80', '%zz', '%', '%4'),
    fc.constantFrom('', 'public', '..'),
    fc.boolean(),
  )
  .map(([poison, around, inParams]) => ({
    kind: 'poison',
    raw: inParams ? `${around};${poison}` : `${around}${poison}${around}`,
  }));

const suffix = fc.constantFrom('', '?x=/public/', '#/public/', '?/../public/', '?a=%2f', '#%00');

const target = fc.tuple(
  fc.array(fc.oneof(nameSegment, dotSegment, dotdotSegment, emptySegment), { maxLength: 6 }),
  fc.array(fc.oneof(nameSegment, dotdotSegment), { maxLength: 3 }),
  fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: poisonSegment }),
  fc.nat(),
  suffix,
);

function modelPath(segments: readonly Segment[]): string {
  const stack: string[] = [];
  for (const segment of segments) {
    if (segment.kind === 'name') stack.push(segment.name);
    else if (segment.kind === 'dotdot') stack.pop();
  }
  const last = segments.at(-1);
  const endsAsDirectory = last === undefined || last.kind !== 'name';
  if (stack.length === 0) return '/';
  return '/' + stack.join('/') + (endsAsDirectory ? '/' : '');
}

describe('normalizeRequestPath (properties)', () => {
  it('resolves tricks prefixed onto a protected path exactly as the model does, and only a path really under /public/ is public', () => {
    const isPublic = compilePathMatcher(['/public/']);
    fc.assert(
      fc.property(target, ([tricks, tail, poison, poisonAt, query]) => {
        const segments: Segment[] = [...tricks, { kind: 'name', name: 'admin', raw: 'admin' }, ...tail];
        if (poison !== null) segments.splice(poisonAt % (segments.length + 1), 0, poison);
        const raw = '/' + segments.map((s) => s.raw).join('/') + query;

        const result = normalizeRequestPath(raw);
        if (poison !== null) {
          expect(result.ok).toBe(false);
          return;
        }
        const expected = modelPath(segments);
        expect(result).toEqual({ ok: true, path: expected });
        expect(isPublic(expected)).toBe(expected === '/public' || expected.startsWith('/public/'));
      }),
      { numRuns: 3000 },
    );
  });

  const pieces = [
    '/', '/', '.', '..', 'a', 'public', 'admin', ';', ';p=1', '?', '#', '%', '%4', '%2e', '%2E', '%2f', '%5c',
    '%25', '%3b', '%23', '%3f', '%20', '%c3%a9', '%c3', '%c0%ae', '%ef%bb%bf', '%00', '%0a', '\\', '\t', 'é', '\u{1F600}',
  ];
  const anyTarget = fc.array(fc.constantFrom(...pieces), { maxLength: 14 }).map((p) => '/' + p.join(''));

  const reencode = (path: string): string => path.replace(/[%;?#]/g, (ch) => '%' + ch.charCodeAt(0).toString(16));

  it('yields a clean path that is a fixed point of normalization', () => {
    fc.assert(
      fc.property(anyTarget, (raw) => {
        const result = normalizeRequestPath(raw);
        if (!result.ok) return;
        const { path } = result;
        expect(path.startsWith('/')).toBe(true);
        expect(path.includes('//')).toBe(false);
        expect(path.split('/').some((s) => s === '.' || s === '..')).toBe(false);
        expect(hasBackslashOrControl(path)).toBe(false);
        expect(normalizeRequestPath(reencode(path))).toEqual({ ok: true, path });
        if (!/[%;?#]/.test(path)) expect(normalizeRequestPath(path)).toEqual({ ok: true, path });
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses every target whose path carries an encoded slash, a backslash or a NUL', () => {
    fc.assert(
      fc.property(anyTarget, (raw) => {
        const pathPart = raw.split(/[?#]/)[0] ?? '';
        if (/%2f|%5c|%00|\\/i.test(pathPart)) expect(normalizeRequestPath(raw).ok).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (raw) => {
        expect(typeof normalizeRequestPath(raw).ok).toBe('boolean');
        expect(typeof normalizeRequestPath('/' + raw).ok).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});
