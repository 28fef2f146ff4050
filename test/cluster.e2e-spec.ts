import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { join } from 'node:path';
import { Agents, Nova, type NodeInfo } from '#client';
import {
  createControlPlaneClient,
  createDataPlaneClient,
  createStatehouseClient,
  type DataPlanePromiseClient,
} from '#proto';
import { rankFor } from '../apps/router/src/nodes/rendezvous.js';
import { useTopology } from './support/topology.js';
import { repoRoot, runCli } from './support/nova-process.js';
import { startExternalAgent } from './support/agent-endpoint.js';
import { codeOf, statusOf } from './support/grpc-status.js';
import { asyncRequest, createRequest, invokeRequest } from './support/requests.js';
import { waitUntil } from './support/wait.js';

const echo = Buffer.from('def handler(event):\n    return event\n');
const sleeper = Buffer.from(
  'import time\ndef handler(event):\n    time.sleep(event.get("s", 0.3))\n    return {"slept": event.get("s", 0.3)}\n',
);
const counter = Buffer.from('def handler(event):\n    for i in range(3):\n        yield {"i": i}\n');
const endless = Buffer.from(
  'import time\ndef handler(event):\n    while True:\n        yield 1\n        time.sleep(0.05)\n',
);

/** The status name an SDK call failed with (its errors carry it as `code`), or OK. */
async function sdkCodeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'OK';
  } catch (error) {
    return (error as { code: string }).code;
  }
}

/** The admin key a control plane with auth on prints at its first start. */
function bootstrapKeyIn(output: string): string {
  const key = /^ {4}(nova_[\w-]+)$/m.exec(output)?.[1];
  assert.ok(key, 'the control plane printed its first admin key');
  return key;
}

describe('a cluster: one control plane, three data-plane nodes, two routers on one database', () => {
  const topology = useTopology({ dataPlanes: 3, routers: 2, env: { NOVA_AUTH: 'required' } });
  let apiKey: string;
  let nova: Nova;
  /** A DataPlane client on each router. */
  let viaRouter: DataPlanePromiseClient[];

  const dataPlaneIds = (nodes: NodeInfo[], state = 'live'): string[] =>
    nodes.filter((node) => node.planes.includes('data-plane') && node.status === state).map((node) => node.id);
  const create = (name: string, code: Buffer, more: Parameters<typeof createRequest>[0] = {}): Promise<unknown> => {
    const cp = createControlPlaneClient({ address: topology.routers[0]!.address, apiKey });
    return cp.createFunction(createRequest({ name, code, ...more })).finally(() => cp.close());
  };
  const invoke = (router: number, fn: string, payload: unknown = {}) =>
    viaRouter[router]!.invoke(invokeRequest(fn, Buffer.from(JSON.stringify(payload))));

  before(async () => {
    apiKey = bootstrapKeyIn(topology.controlPlane.output());
    nova = new Nova({ address: topology.routers[1]!.address, apiKey });
    viaRouter = topology.routers.map((router) => createDataPlaneClient({ address: router.address, apiKey }));
    await waitUntil('every node registered', async () => dataPlaneIds(await nova.listNodes()).length === 3, 10_000);
  });

  it('lists every node through a router, with its address, planes, runtimes and load', async () => {
    const nodes = await nova.listNodes();
    assert.deepEqual(dataPlaneIds(nodes), ['dp-0', 'dp-1', 'dp-2']);
    const controlPlane = nodes.find((node) => node.planes.includes('control-plane'));
    assert.equal(controlPlane?.address, topology.controlPlane.address);
    const dp0 = await nova.getNode('dp-0');
    assert.equal(dp0.address, topology.dataPlanes.get('dp-0')!.address);
    assert.ok(dp0.runtimes.includes('python'));
    assert.equal(dp0.heartbeatMs, 250);
    const cli = await runCli(['nodes'], { NOVA_ADDR: topology.routers[0]!.address, NOVA_API_KEY: apiKey });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^ID\s+ADDRESS\s+STATUS\s+AGE\s+HEARTBEAT\s+IN-FLIGHT\s+WARM/);
    assert.match(cli.stdout, /^dp-1\s+127\.0\.0\.1:\d+\s+live\s/m);
    assert.equal(await sdkCodeOf(nova.getNode('no-such-node')), 'NOT_FOUND');
    // A router's DataPlane.Health: a node's own report, with the router's view of every node over it.
    const health = await viaRouter[0]!.health({});
    assert.equal(health.status, 'healthy');
    assert.match(health.components['database'] ?? '', /^ok/);
    assert.equal(health.components['router'], '3 data-plane nodes routable');
    assert.match(health.components['node.dp-2'] ?? '', /^live \(127\.0\.0\.1:\d+, data-plane\)$/);
  });

  it('passes auth through: the nodes refuse a call without a key, whichever router it came by', async () => {
    for (const router of topology.routers) {
      const anonymous = createDataPlaneClient({ address: router.address });
      assert.equal(await codeOf(anonymous.invoke(invokeRequest('anything', Buffer.alloc(0)))), status.UNAUTHENTICATED);
      anonymous.close();
    }
  });

  it('sends each function to one node, whichever router: 30 functions, one cold start each', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `affine-${i}`);
    await Promise.all(names.map((name) => create(name, echo)));
    const coldStarts = new Map<string, number>();
    for (let round = 0; round < 4; round++) {
      const answers = await Promise.all(names.map((name, i) => invoke((i + round) % 2, name, { round })));
      answers.forEach((answer, i) => {
        assert.equal(answer.error, '');
        if (answer.coldStart) coldStarts.set(names[i]!, (coldStarts.get(names[i]!) ?? 0) + 1);
      });
    }
    for (const name of names) assert.equal(coldStarts.get(name), 1, `${name} started once`);
    // They spread: every node holds some of them warm.
    await waitUntil(
      'each node reporting warm instances',
      async () => {
        const nodes = (await nova.listNodes({ plane: 'data-plane' })).filter((node) => node.status === 'live');
        return nodes.length === 3 && nodes.every((node) => node.warmInstances > 0);
      },
      5000,
    );
  });

  it('sends the overflow of a saturated node to the next node in rank', async () => {
    // One instance per node: a second call at once does not wait behind the first, it goes to the next node.
    await create('narrow', sleeper, { maxReplicas: 1 });
    await invoke(0, 'narrow', { s: 0 });
    const started = Date.now();
    const answers = await Promise.all([invoke(0, 'narrow', { s: 1 }), invoke(0, 'narrow', { s: 1 })]);
    const took = Date.now() - started;
    assert.deepEqual(
      answers.map((answer) => answer.error),
      ['', ''],
    );
    assert.deepEqual(answers.map((answer) => answer.coldStart).sort(), [false, true], 'one warm, one on the next node');
    assert.ok(took < 1900, `ran side by side, not one after the other (${took} ms)`);
  });

  it('passes streams, deadlines, cancellation, request ids and errors through', async () => {
    await create('counter', counter);
    await create('endless', endless);
    await create('slow', sleeper);
    const chunks = [];
    for await (const chunk of viaRouter[1]!.invokeStream(invokeRequest('counter', Buffer.alloc(0)))) chunks.push(chunk);
    assert.deepEqual(
      chunks
        .filter((chunk) => chunk.data.length > 0)
        .map((chunk) => JSON.parse(Buffer.from(chunk.data).toString()) as unknown),
      [{ i: 0 }, { i: 1 }, { i: 2 }],
    );
    const late = await statusOf(
      viaRouter[0]!.invoke(invokeRequest('slow', Buffer.from('{"s": 2}')), { timeoutMs: 400 }),
    );
    assert.equal(late.code, status.DEADLINE_EXCEEDED);
    const answer = await viaRouter[0]!.invoke(invokeRequest('slow', Buffer.from('{"s": 0}')), {
      metadata: { 'x-request-id': 'through-the-router-1' },
    });
    // Records are written in batches, a moment after the answer.
    await waitUntil("the caller's x-request-id kept as the call's correlation id", async () => {
      const record = await viaRouter[1]!.getInvocation({ id: answer.requestId }).catch(() => undefined);
      return record?.correlationId === 'through-the-router-1';
    });
    assert.equal(await codeOf(invoke(1, 'no-such-function')), status.NOT_FOUND);

    const stream = viaRouter[0]!.invokeStream(invokeRequest('endless', Buffer.alloc(0)));
    let requestId = '';
    for await (const chunk of stream) {
      requestId = chunk.requestId;
      stream.cancel();
      break;
    }
    await waitUntil('the cancelled stream recorded by its node', async () => {
      const record = await viaRouter[1]!.getInvocation({ id: requestId }).catch(() => undefined);
      return record?.error === 'Cancelled: the client cancelled the stream';
    });
  });

  it('serves state through either router: a transaction begun on one commits through the other', async () => {
    const [first, second] = topology.routers.map((router) =>
      createStatehouseClient({ address: router.address, apiKey }),
    );
    const { txnId } = await first!.beginTransaction({});
    await first!.write({
      txnId,
      namespace: 'default',
      agentId: 'routed',
      key: 'k',
      value: { n: 1 },
    });
    const { commitTs } = await second!.commit({ txnId });
    assert.ok(commitTs > 0);
    assert.equal((await second!.getState({ namespace: 'default', agentId: 'routed', key: 'k' })).exists, true);
    first!.close();
    second!.close();
  });

  it('serves the agent platform through both routers: the example applied once, the seed flow on each', async () => {
    const applied = await runCli(['apply', join(repoRoot, 'examples', 'agent-platform')], {
      NOVA_ADDR: topology.routers[0]!.address,
      NOVA_API_KEY: apiKey,
    });
    assert.equal(applied.code, 0, applied.stderr);
    for (const router of topology.routers) {
      const agents = new Agents({ address: router.address, apiKey });
      const echoed = await agents.executeTask('echo-agent', 'Hello, World!', { sessionId: 'route-s' });
      assert.deepEqual([echoed.output, echoed.success, echoed.sessionId], ['Echo: Hello, World!', true, 'route-s']);
      const weather = await agents.executeTool('weather-tool', 'get_weather', { location: 'New York' });
      assert.equal(weather.success, true, weather.error);
      const plan = await agents.processTask('itinerary-worker', 'Paris', {
        parameters: { destination: 'Paris', days: '3' },
        timeoutMs: 20_000,
      });
      assert.equal(plan.success, true, plan.error);
      assert.equal(plan.metadata['days'], '3');
      const chunks = [];
      for await (const chunk of agents.streamTask('agent-echo', 'piece')) chunks.push(chunk);
      assert.deepEqual(chunks.at(-1)?.content, 'Echo: piece');
      agents.close();
    }
    const anonymous = new Agents({ address: topology.routers[1]!.address });
    assert.equal(await sdkCodeOf(anonymous.executeTask('echo-agent', 'no key')), 'UNAUTHENTICATED');
    anonymous.close();
  });

  it('balances an external agent over its endpoints, skips one that stops and takes it back when it returns', async () => {
    const first = await startExternalAgent('first');
    const second = await startExternalAgent('second');
    const agents = new Agents({ address: topology.routers[0]!.address, apiKey });
    try {
      await agents.registerAgent(
        'outside-agent',
        { endpoints: [`127.0.0.1:${first.port}`, `127.0.0.1:${second.port}`] },
        { name: 'Outside', capabilities: ['echo'] },
      );
      const statuses = async (): Promise<string[]> =>
        (await agents.listRegistered('agent'))
          .find((service) => service.id === 'outside-agent')!
          .backends.map((backend) => backend.status);
      await waitUntil('both endpoints healthy', async () => (await statuses()).every((s) => s === 'healthy'), 10_000);
      const outputs = new Set<string>();
      for (let i = 0; i < 6; i++) outputs.add((await agents.executeTask('agent-outside', 'hi')).output);
      assert.deepEqual([...outputs].sort(), ['first: hi', 'second: hi'], 'calls balanced over both');

      second.stop();
      await waitUntil('the stopped endpoint unhealthy', async () => (await statuses())[1] === 'unhealthy', 10_000);
      for (let i = 0; i < 4; i++) assert.equal((await agents.executeTask('outside-agent', 'hi')).output, 'first: hi');

      first.stop();
      await waitUntil('both unhealthy', async () => (await statuses()).every((s) => s === 'unhealthy'), 10_000);
      assert.equal(await sdkCodeOf(agents.executeTask('outside-agent', 'hi')), 'UNAVAILABLE');

      await second.restart();
      await waitUntil('the restarted endpoint readmitted', async () => (await statuses())[1] === 'healthy', 10_000);
      assert.equal((await agents.executeTask('outside-agent', 'back')).output, 'second: back');
    } finally {
      first.stop();
      second.stop();
      agents.close();
    }
  });

  it('loses no async call and fails only the sync calls in flight when a node is killed (-9)', async () => {
    await create('victim', sleeper);
    await create('queued', sleeper);
    const nodes = dataPlaneIds(await nova.listNodes());
    const home = rankFor(
      nodes.map((id) => ({ id })),
      'victim',
    )[0]!.id;
    await invoke(0, 'victim', { s: 0 });
    const queued = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        viaRouter[i % 2]!.invokeAsync(asyncRequest('queued', { payload: Buffer.from('{"s": 0.2}'), maxAttempts: 3 })),
      ),
    );
    const inFlight = Array.from({ length: 4 }, () => statusOf(invoke(0, 'victim', { s: 3 })));
    await new Promise((resolve) => setTimeout(resolve, 500));
    topology.dataPlanes.get(home)!.child.kill('SIGKILL');
    const failed = await Promise.all(inFlight);
    for (const outcome of failed) assert.equal(outcome.code, status.UNAVAILABLE, outcome.details);
    // Later calls of its functions go to the next node in rank.
    const after = await invoke(1, 'victim', { s: 0 });
    assert.equal(after.error, '');
    await waitUntil(
      'the killed node dead for the cluster',
      async () => (await nova.getNode(home)).status === 'dead',
      3000,
    );
    await waitUntil(
      'every queued call succeeded',
      async () => {
        const records = await Promise.all(queued.map((q) => viaRouter[0]!.getInvocation({ id: q.invocationId })));
        return records.every((record) => record.status === 'succeeded');
      },
      30_000,
    );
    const health = await viaRouter[0]!.health({});
    assert.match(health.components[`node.${home}`] ?? '', /^dead/);
  });

  it('forgets a node that stops cleanly at once, and a dead one only when removed', async () => {
    const live = dataPlaneIds(await nova.listNodes());
    const leaving = live.at(-1)!;
    await topology.dataPlanes.get(leaving)!.stop();
    const ids = (await nova.listNodes()).map((node) => node.id);
    assert.ok(!ids.includes(leaving), 'a node that stopped cleanly deregistered itself');
    const dead = dataPlaneIds(await nova.listNodes(), 'dead');
    assert.equal(dead.length, 1);
    assert.equal(await sdkCodeOf(nova.removeNode(live[0]!)), 'FAILED_PRECONDITION');
    await nova.removeNode(dead[0]!);
    assert.ok(!(await nova.listNodes()).some((node) => node.id === dead[0]));
    // A new node joins and takes calls.
    await topology.addDataPlane('dp-new');
    await waitUntil('the new node routable', async () => {
      const health = await viaRouter[1]!.health({});
      return (health.components['node.dp-new'] ?? '').startsWith('live');
    });
    nova.close();
    for (const client of viaRouter) client.close();
  });
});
