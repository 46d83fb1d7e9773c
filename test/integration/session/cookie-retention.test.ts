// A session cookie value parsed from the Cookie header is a slice of the header string: remembering the slice as a
// verified cookie would keep the whole header, every other cookie of the site, alive for each hot session.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { distModule, REPO_ROOT } from '../../helpers/gatehouse-process.js';

const dist = (path: string): string => JSON.stringify(distModule(path));

/** Live heap growth (bytes, after full collections) once `sessions` cookies sent among 4 KB of other cookies verified. */
function heapGrowthAfterVerifying(sessions: number): number {
  const script = `
    import { parse } from 'cookie';
    const { SessionCookie } = await import(${dist('session/session-cookie.js')});
    const cookies = new SessionCookie({ secrets: ['s'.repeat(32)], name: 'gatehouse_session', secure: false, maxAgeMs: 60_000, rememberVerified: ${sessions} });
    const issued = Array.from({ length: ${sessions} }, () => cookies.issue().value);
    const verdicts = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < issued.length; i++) {
      // what a browser sends: the app's own cookies around gatehouse's, one header string per request
      const header = Buffer.from('analytics=' + 'a'.repeat(4000) + i + '; gatehouse_session=' + issued[i] + '; theme=dark').toString('latin1');
      verdicts.push(cookies.verify(parse(header).gatehouse_session));
    }
    gc();
    const growth = process.memoryUsage().heapUsed - before;
    if (verdicts.some((verdict) => !verdict || !('key' in verdict))) throw new Error('a cookie did not verify');
    console.log(growth);`;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    cwd: REPO_ROOT,
  });
  expect(child.stderr).toBe('');
  return Number(child.stdout.trim());
}

describe('verified session cookies', () => {
  it('keep their own bytes, not the Cookie header they were read from', () => {
    const sessions = 5000;
    const perSession = heapGrowthAfterVerifying(sessions) / sessions;
    // the value, its key and the cache entry: a few hundred bytes; the header would add over 4,000
    expect(perSession).toBeLessThan(1000);
  });
});
