// What build this is: the package version and the git commit, read where they are (no git binary needed).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BuildInfo {
  version: string;
  /** The commit HEAD pointed at (12 hex digits), or "unknown" without a git checkout (npm package, container image). */
  commit: string;
}

/** The nearest folder above this module with a package.json: the checkout from src/ (tests) and from dist/src/. */
const PACKAGE_ROOT = packageRoot(fileURLToPath(new URL('.', import.meta.url)));

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

export function buildInfo(root: string = PACKAGE_ROOT): BuildInfo {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; gitHead?: string };
  const commit = pkg.gitHead ?? gitCommit(root) ?? 'unknown';
  return { version: pkg.version, commit: commit.slice(0, 12) };
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** HEAD of `<root>/.git`: a directory, or a file pointing at one (worktrees, submodules). */
function gitCommit(root: string): string | undefined {
  const dotGit = join(root, '.git');
  const pointer = read(dotGit)?.match(/^gitdir: (.+)$/m)?.[1];
  const gitDir = pointer ? resolve(root, pointer) : dotGit;
  const head = read(join(gitDir, 'HEAD'));
  if (!head) return undefined;
  if (!head.startsWith('ref: ')) return /^[0-9a-f]{40,64}$/.test(head) ? head : undefined;
  const ref = head.slice('ref: '.length);
  const common = read(join(gitDir, 'commondir'));
  for (const dir of common ? [gitDir, resolve(gitDir, common)] : [gitDir]) {
    const loose = read(join(dir, ref));
    if (loose && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
    const packed = read(join(dir, 'packed-refs'))
      ?.split('\n')
      .find((line) => line.endsWith(` ${ref}`));
    if (packed) return packed.split(' ')[0];
  }
  return undefined;
}
