// The demo (a development provider built on a devDependency) stays out of the published package.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/gatehouse-process.js';

interface PackEntry {
  files: { path: string }[];
}

describe('published package', () => {
  it('holds dist/src/main.js and the config, and nothing of the demo', () => {
    const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, encoding: 'utf8' });
    const paths = (JSON.parse(output) as PackEntry[])[0]?.files.map((file) => file.path) ?? [];
    expect(paths).toContain('dist/src/main.js');
    expect(paths).toContain('config/gatehouse.yaml');
    expect(paths.filter((path) => path.includes('demo/') || path.includes('dev-provider'))).toEqual([]);
  });
});
