import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/ops/metrics.js';

const BUILD = { version: '0.0.0', commit: 'unknown' };

async function answered(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.requests.get();
  return Object.fromEntries(values.map(({ labels, value }) => [String(labels.status_class), value]));
}

describe('Metrics.countRequest', () => {
  it('counts requests by status class, the same totals however often they are read', async () => {
    const metrics = new Metrics({ defaultMetrics: false, build: BUILD });
    expect(await answered(metrics)).toEqual({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 });
    for (const status of [200, 204, 302, 404, 499, 503]) metrics.countRequest(status, 0.001);
    expect(await answered(metrics)).toEqual({ '1xx': 0, '2xx': 2, '3xx': 1, '4xx': 2, '5xx': 1 });
    expect(await answered(metrics)).toEqual({ '1xx': 0, '2xx': 2, '3xx': 1, '4xx': 2, '5xx': 1 });
    metrics.countRequest(101, 0.001);
    metrics.countRequest(200, 0.001);
    expect(await answered(metrics)).toEqual({ '1xx': 1, '2xx': 3, '3xx': 1, '4xx': 2, '5xx': 1 });
    expect(await metrics.registry.metrics()).toContain('gatehouse_http_requests_total{status_class="2xx"} 3');
  });
});
