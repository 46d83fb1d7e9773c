import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../src/ops/latency-histogram.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('LatencyHistogram', () => {
  it('renders exactly like a prom-client Histogram fed the same observations', async () => {
    const fast = new Registry();
    const reference = new Registry();
    const ours = new LatencyHistogram('x_seconds', 'help text', BUCKETS, fast);
    const theirs = new Histogram({ name: 'x_seconds', help: 'help text', buckets: BUCKETS, registers: [reference] });
    for (const value of [0.0005, 0.001, 0.002, 0.05, 0.5, 0.99, 1, 3, 42]) {
      ours.observe(value);
      theirs.observe(value);
    }
    expect(await fast.metrics()).toBe(await reference.metrics());
    expect(await fast.metrics()).toContain('x_seconds_bucket{le="+Inf"} 9');
  });

  it('starts at zero and resets to zero', async () => {
    const registry = new Registry();
    const histogram = new LatencyHistogram('y_seconds', 'help', BUCKETS, registry);
    expect(await registry.metrics()).toContain('y_seconds_count 0');
    histogram.observe(0.2);
    expect(await registry.metrics()).toContain('y_seconds_bucket{le="1"} 1');
    histogram.reset();
    expect(await registry.metrics()).toContain('y_seconds_count 0');
  });
});
