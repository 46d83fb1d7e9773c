// gatehouse_build_info: one series, value 1, labelled with the package version, the git commit and Node's version.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/ops/metrics.js';
import { createOpsServer } from '../../../src/ops/ops-server.js';
import { Readiness } from '../../../src/ops/readiness.js';
import { buildInfo } from '../../../src/version.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('gatehouse_build_info', () => {
  it('is one series of value 1 with the given version and commit and the running Node version', async () => {
    const metrics = new Metrics({ defaultMetrics: false, build: { version: '9.8.7', commit: '0123456789ab' } });
    const lines = (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith('gatehouse_build_info'));
    expect(lines).toEqual([`gatehouse_build_info{version="9.8.7",commit="0123456789ab",node_version="${process.versions.node}"} 1`]);
  });

  it('reads the package version and the commit of this checkout by default, and /metrics serves it', async () => {
    const { commit } = buildInfo();
    expect(commit).toMatch(/^([0-9a-f]{12}|unknown)$/);
    const server = createOpsServer(new Metrics({ defaultMetrics: false }), new Readiness());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('# TYPE gatehouse_build_info gauge');
      expect(text).toContain(`gatehouse_build_info{version="${PACKAGE_VERSION}",commit="${commit}",node_version="${process.versions.node}"} 1\n`);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
