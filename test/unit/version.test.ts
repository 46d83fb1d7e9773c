// `gatehouse version`: the package version and the commit, read from package.json and the git directory itself,
// "unknown" where there is no checkout (the npm package, the container image).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildInfo } from '../../src/version.js';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-version-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function packageDir(name: string, pkg: Record<string, unknown> = { version: '1.2.3' }, files: Record<string, string> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('buildInfo', () => {
  it('says "unknown" without a git checkout (the npm package)', () => {
    expect(buildInfo(packageDir('npm'))).toEqual({ version: '1.2.3', commit: 'unknown' });
  });

  it('reads a branch ref, a packed ref and a detached HEAD', () => {
    expect(buildInfo(packageDir('loose', undefined, { '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${COMMIT}\n` })).commit).toBe(
      '0123456789ab',
    );
    expect(
      buildInfo(packageDir('packed', undefined, { '.git/HEAD': 'ref: refs/heads/main\n', '.git/packed-refs': `# pack-refs\n${COMMIT} refs/heads/main\n` }))
        .commit,
    ).toBe('0123456789ab');
    expect(buildInfo(packageDir('detached', undefined, { '.git/HEAD': `${COMMIT}\n` })).commit).toBe('0123456789ab');
  });

  it('follows a .git file to a worktree directory and its common directory', () => {
    const main = packageDir('main-repo', undefined, { '.git/packed-refs': `${COMMIT} refs/heads/feature\n` });
    const worktree = packageDir('worktree', undefined, {
      '.git': `gitdir: ${join(main, '.git/worktrees/wt')}\n`,
    });
    mkdirSync(join(main, '.git/worktrees/wt'), { recursive: true });
    writeFileSync(join(main, '.git/worktrees/wt/HEAD'), 'ref: refs/heads/feature\n');
    writeFileSync(join(main, '.git/worktrees/wt/commondir'), '../..\n');
    expect(buildInfo(worktree).commit).toBe('0123456789ab');
  });

  it('prefers the gitHead npm records in package.json', () => {
    expect(buildInfo(packageDir('published', { version: '2.0.0', gitHead: 'fedcba9876543210fedcba9876543210fedcba98' }))).toEqual({
      version: '2.0.0',
      commit: 'fedcba987654',
    });
  });

  it('says "unknown" for a HEAD it cannot resolve', () => {
    expect(buildInfo(packageDir('broken', undefined, { '.git/HEAD': 'ref: refs/heads/gone\n' })).commit).toBe('unknown');
  });
});
