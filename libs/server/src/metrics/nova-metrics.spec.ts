import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NovaMetrics } from './nova-metrics.js';

describe('NovaMetrics families', () => {
  it('export counters and cumulative histograms in the text format, with the plane label', async () => {
    const metrics = new NovaMetrics('dataplane');
    const calls = metrics.counter('test_calls_total', 'calls', ['method', 'code']);
    const durations = metrics.histogram('test_duration_seconds', 'durations', ['method']);
    calls.of('/a', 'OK').inc();
    calls.of('/a', 'OK').inc(2);
    calls.of('/b', 'NOT_FOUND').inc();
    for (const seconds of [0.0001, 0.003, 0.003, 7, 1000]) durations.of('/a').observe(seconds);
    assert.equal(calls.of('/a', 'OK'), calls.of('/a', 'OK'), 'one series per label values');

    const lines = (await metrics.exposition()).body.split('\n');
    const sample = (text: string): number | undefined => {
      const line = lines.find((l) => l.startsWith(`${text} `));
      return line === undefined ? undefined : Number(line.slice(text.length + 1));
    };
    assert.ok(lines.includes('# TYPE test_calls_total counter'));
    assert.equal(sample('test_calls_total{method="/a",code="OK",plane="dataplane"}'), 3);
    assert.equal(sample('test_calls_total{method="/b",code="NOT_FOUND",plane="dataplane"}'), 1);
    assert.ok(lines.includes('# TYPE test_duration_seconds histogram'));
    const bucket = (le: string): number | undefined =>
      sample(`test_duration_seconds_bucket{method="/a",le="${le}",plane="dataplane"}`);
    assert.equal(bucket('0.0005'), 1);
    assert.equal(bucket('0.0025'), 1);
    assert.equal(bucket('0.005'), 3);
    assert.equal(bucket('5'), 3);
    assert.equal(bucket('10'), 4);
    assert.equal(bucket('300'), 4);
    assert.equal(bucket('+Inf'), 5);
    assert.equal(sample('test_duration_seconds_count{method="/a",plane="dataplane"}'), 5);
    assert.ok(Math.abs(sample('test_duration_seconds_sum{method="/a",plane="dataplane"}')! - 1007.0061) < 1e-9);
  });
});
