import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Nova, Statehouse } from '#client';
import { createTestDatabase, freePort, repoRoot, runCli, startNova } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { useTopology } from './support/topology.js';

/** One sample of the Prometheus text format: its name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(address: string): Promise<Sample[]> {
  const response = await fetch(`http://${address}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples: Sample[] = [];
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and these labels (among others); 0 when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  assert.ok(found.length <= 1, `one ${name} ${JSON.stringify(labels)}: ${JSON.stringify(found)}`);
  return found[0]?.value ?? 0;
}

const handler = Buffer.from(
  'def handler(event, context):\n' +
    '    if event.get("fail"):\n' +
    '        raise ValueError("asked to")\n' +
    '    return event\n',
);

describe('/metrics (NOVA_METRICS_ADDR)', async () => {
  const metricsPort = await freePort();
  const metricsAddress = `127.0.0.1:${metricsPort}`;
  const fx = useNova({ NOVA_METRICS_ADDR: metricsAddress });

  it('counts calls, invocations, instances, state and the queue as they happened', async () => {
    const nova = new Nova({ address: fx.nova.address });
    const state = new Statehouse({ address: fx.nova.address });
    try {
      await nova.createFunction({ name: 'metered', runtime: 'python', handler: 'handler', code: handler });
      for (let i = 0; i < 3; i++) await nova.invoke('metered', { i });
      await nova.invoke('metered', { fail: true });
      const queued = await nova.invokeAsync('metered', { fail: true }, { maxAttempts: 2, backoffBaseMs: 10 });
      const ended = await nova.waitForInvocation(queued.invocationId);
      assert.equal(ended.status, 'dead_letter');
      await state.transaction(async (txn) => {
        await txn.write('agent-m', 'a', { v: 1 });
        await txn.write('agent-m', 'b', { v: 2 });
        await txn.delete('agent-m', 'c');
      });
      const aborted = await state.transaction();
      await aborted.abort();
      await state.getState('agent-m', 'a');
    } finally {
      nova.close();
    }

    const samples = await scrape(metricsAddress);
    const invoke = { method: '/nova.v1.DataPlane/Invoke' };
    assert.equal(valueOf(samples, 'nova_grpc_calls_total', { ...invoke, code: 'OK' }), 4);
    assert.equal(valueOf(samples, 'nova_grpc_call_duration_seconds_count', invoke), 4);
    assert.equal(valueOf(samples, 'nova_grpc_calls_total', { method: '/nova.v1.ControlPlane/CreateFunction' }), 1);

    const metered = { function: 'metered' };
    assert.equal(valueOf(samples, 'nova_invocations_total', { ...metered, outcome: 'ok', cold_start: 'true' }), 1);
    assert.equal(valueOf(samples, 'nova_invocations_total', { ...metered, outcome: 'ok', cold_start: 'false' }), 2);
    // One sync failure and two async attempts.
    assert.equal(
      valueOf(samples, 'nova_invocations_total', { ...metered, outcome: 'function_error', cold_start: 'false' }),
      3,
    );
    assert.equal(valueOf(samples, 'nova_invocation_duration_seconds_count', { ...metered, outcome: 'ok' }), 3);
    const bucketInf = samples.find(
      (s) =>
        s.name === 'nova_invocation_duration_seconds_bucket' &&
        s.labels['le'] === '+Inf' &&
        s.labels['outcome'] === 'ok',
    );
    assert.equal(bucketInf?.value, 3);
    assert.equal(valueOf(samples, 'nova_instances', { ...metered, state: 'idle' }), 1);
    assert.equal(valueOf(samples, 'nova_instances', { ...metered, state: 'busy' }), 0);
    assert.equal(valueOf(samples, 'nova_waiting_calls', metered), 0);

    assert.equal(valueOf(samples, 'nova_async_attempts_total', { ...metered, result: 'failed' }), 1);
    assert.equal(valueOf(samples, 'nova_async_attempts_total', { ...metered, result: 'dead_letter' }), 1);
    assert.equal(valueOf(samples, 'nova_async_queue_depth', { state: 'queued' }), 0);
    assert.equal(valueOf(samples, 'nova_async_queue_depth', { state: 'running' }), 0);

    assert.equal(valueOf(samples, 'statehouse_transactions_total', { status: 'committed' }), 1);
    assert.equal(valueOf(samples, 'statehouse_transactions_total', { status: 'aborted' }), 1);
    assert.equal(valueOf(samples, 'statehouse_operations_total', { type: 'put' }), 2);
    assert.equal(valueOf(samples, 'statehouse_operations_total', { type: 'delete' }), 1);
    assert.equal(valueOf(samples, 'statehouse_operations_total', { type: 'get' }), 1);
    assert.equal(valueOf(samples, 'statehouse_rpc_duration_seconds_count', { rpc: 'Commit' }), 1);
    assert.equal(valueOf(samples, 'statehouse_rpc_duration_seconds_count', { rpc: 'Abort' }), 1);
    const age = valueOf(samples, 'nova_node_heartbeat_age_seconds');
    assert.ok(age >= 0 && age < 5, `a fresh heartbeat: ${age}`);

    // Bounded labels: no request or invocation id anywhere.
    for (const sample of samples) {
      for (const value of Object.values(sample.labels)) {
        assert.doesNotMatch(value, /^[0-9a-f]{8}-[0-9a-f]{4}-/, `${sample.name} carries an id`);
      }
    }
  });

  it('has every metric docker/grafana/nova-dashboard.json graphs', async () => {
    const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    const exposed = new Set([...text.matchAll(/^# TYPE (\w+) /gm)].map((match) => match[1]));
    const dashboard = readFileSync(join(repoRoot, 'docker', 'grafana', 'nova-dashboard.json'), 'utf8');
    const graphed = new Set(
      [...dashboard.matchAll(/\b((?:nova|statehouse)_\w+)/g)].map((match) =>
        match[1]!.replace(/_(bucket|sum|count)$/, ''),
      ),
    );
    assert.ok(graphed.size >= 14, [...graphed].join(' '));
    // A router's own metric: the router test below reads it from a router.
    const routerOnly = new Set(['nova_router_forwards_total']);
    for (const name of graphed) assert.ok(exposed.has(name) || routerOnly.has(name), `${name} is exposed`);
  });

  it('answers GET /healthz as grpc.health.v1 answers for the whole server, and 404 to anything else', async () => {
    const healthz = await fetch(`http://${metricsAddress}/healthz`);
    assert.equal(healthz.status, 200);
    assert.equal(await healthz.text(), 'SERVING\n');
    assert.equal((await fetch(`http://${metricsAddress}/`)).status, 404);
    assert.equal((await fetch(`http://${metricsAddress}/metrics`, { method: 'POST' })).status, 404);
  });
});

describe('NOVA_METRICS_ADDR taken', () => {
  it('refuses to start on an address someone chose that is taken, before it opens the database', async () => {
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    const database = await createTestDatabase();
    try {
      const taken = await runCli(['daemon', '--grpc-addr', `127.0.0.1:${await freePort()}`], {
        ...database.env,
        NOVA_METRICS_ADDR: `127.0.0.1:${port}`,
      });
      assert.equal(taken.code, 1);
      assert.match(taken.stderr, new RegExp(`metrics address 127\\.0\\.0\\.1:${port}: cannot listen \\(EADDRINUSE\\)`));
    } finally {
      holder.close();
      await database.dispose();
    }
  });
});

describe('a router’s /metrics: forwards by node and outcome, heartbeats by node', async () => {
  const metricsPort = await freePort();
  const topology = useTopology({ dataPlanes: 1, routers: 0 });

  it('counts each forward to the node that took it', async (t) => {
    const router = await startNova({
      env: { ...topology.env, NOVA_METRICS_ADDR: `127.0.0.1:${metricsPort}` },
      args: ['--mode', 'router'],
    });
    t.after(() => router.stop());
    const nova = new Nova({ address: router.address });
    try {
      await nova.createFunction({ name: 'routed-metered', runtime: 'python', handler: 'handler', code: handler });
      for (let i = 0; i < 5; i++) await nova.invoke('routed-metered', { i });
    } finally {
      nova.close();
    }
    const samples = await scrape(`127.0.0.1:${metricsPort}`);
    assert.equal(valueOf(samples, 'nova_router_forwards_total', { node: 'dp-0', outcome: 'ok' }), 5);
    const age = valueOf(samples, 'nova_node_heartbeat_age_seconds', { node: 'dp-0' });
    assert.ok(age >= 0 && age < 2, `dp-0 heard lately: ${age}`);
    assert.equal(samples.find((s) => s.name === 'nova_grpc_calls_total')?.labels['plane'], 'router');
    // The topology's own nodes run with NOVA_METRICS_ADDR empty: no /metrics.
    const listening = topology.dataPlanes
      .get('dp-0')!
      .logLines()
      .find((line) => line['msg'] === 'nova listening');
    assert.equal(listening?.['metrics'], 'off');
  });
});
