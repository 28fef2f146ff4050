import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import pg from 'pg';
import {
  createControlPlaneClient,
  createStatehouseClient,
  createWorkflowManagementClient,
  createWorkflowsClient,
  type StatehousePromiseClient,
  type WorkflowsPromiseClient,
} from '#proto';
import type { workflows } from '#proto';
import { useTopology } from './support/topology.js';
import { createRequest } from './support/requests.js';
import { waitUntil } from './support/wait.js';

const LEASE_MS = 2000;

// Issue 12, item 6: workflows over two data-plane nodes behind a router; failover after kill -9.
describe('workflows in a cluster: two data-plane nodes behind a router', () => {
  const topology = useTopology({ dataPlanes: 2, routers: 1, env: { NOVA_WORKFLOW_LEASE_MS: String(LEASE_MS) } });
  let client: WorkflowsPromiseClient;
  let state: StatehousePromiseClient;

  before(() => {
    client = createWorkflowsClient({ address: topology.routers[0]!.address });
    state = createStatehouseClient({ address: topology.routers[0]!.address });
  });

  const create = async (name: string, code: string[]): Promise<void> => {
    const cp = createControlPlaneClient({ address: topology.routers[0]!.address });
    try {
      await cp.createFunction(createRequest({ name, code: Buffer.from(code.join('\n') + '\n') }));
    } finally {
      cp.close();
    }
  };
  const start = (request: Partial<workflows.StartWorkflowRequest>) =>
    client.startWorkflow({ function: '', version: 0, input: '', workflowId: '', maxAttempts: 0, ...request });
  const workflowOf = async (workflowId: string): Promise<workflows.WorkflowInfo> =>
    (await client.getWorkflow({ workflowId })).workflow!;

  /** A step that counts its runs in state (the workflow's own key): exactly-once shows as 1. */
  const countingStep = [
    'def count(state, key):',
    '    with state.transaction() as tx:',
    '        seen = tx.get(key) or {"n": 0}',
    '        tx.write(key, {"n": seen["n"] + 1})',
    '    return key',
  ];

  it('runs a three-step workflow through the router with both APIs', async () => {
    await create('wfc-three', [
      'def handler(event, context):',
      '    a = context.step("a", lambda: event["n"] + 1)',
      '    b = context.step("b", lambda: a * 2)',
      '    return context.step("c", lambda: {"total": b + 1})',
    ]);
    const started = await start({ function: 'wfc-three', input: '{"n": 1}' });
    await waitUntil('the workflow ends', async () => (await workflowOf(started.workflowId)).status === 'succeeded');
    assert.equal((await workflowOf(started.workflowId)).result, '{"total": 5}');
    const management = createWorkflowManagementClient({ address: topology.routers[0]!.address });
    try {
      const sync = await management.runWorkflowSync({ workflowType: 'wfc-three', version: 0, inputJson: '{"n": 10}' });
      assert.deepEqual(sync, { success: true, resultJson: '{"total": 23}', error: '' });
    } finally {
      management.close();
    }
  });

  it('runs 200 workflows over both nodes, each to its end exactly once', async () => {
    await create('wfc-many', [
      ...countingStep,
      '',
      'def handler(event, context):',
      '    context.step("count", lambda: count(context.state, context.workflow_id))',
      '    return context.step("done", lambda: event["i"])',
    ]);
    const ids = Array.from({ length: 200 }, (_, i) => `wfc-many-${i}`);
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(
        ids
          .slice(i, i + 50)
          .map((workflowId, j) => start({ function: 'wfc-many', workflowId, input: JSON.stringify({ i: i + j }) })),
      );
    }
    await waitUntil(
      'all 200 succeed',
      async () =>
        (await client.listWorkflows({ function: 'wfc-many', status: 'succeeded', limit: 1, offset: 0 })).total === 200,
      60_000,
    );
    const database = new pg.Client({ connectionString: topology.databaseUrl });
    await database.connect();
    try {
      const ends = await database.query<{ n: string }>(
        `SELECT count(*) AS n FROM workflow_events WHERE kind = 'workflow_end' AND workflow_id LIKE 'wfc-many-%'
          GROUP BY workflow_id HAVING count(*) <> 1`,
      );
      assert.equal(ends.rows.length, 0, 'one workflow_end each');
      const nodes = await database.query<{ node_id: string }>(
        "SELECT DISTINCT node_id FROM workflow_steps WHERE workflow_id LIKE 'wfc-many-%'",
      );
      assert.equal(nodes.rows.length, 2, 'both nodes ran workflows');
    } finally {
      await database.end();
    }
    const counted = await state.scanPrefix({ namespace: 'default', agentId: 'wfc-many', prefix: 'wfc-many-' });
    assert.equal(counted.entries.length, 200);
    assert.ok(
      counted.entries.every((entry) => (entry.value as { n: number }).n === 1),
      'every counting step ran exactly once',
    );
  });

  it('after kill -9 of its owner, another node takes the sleeping workflow over within a lease and finishes it without re-running step 1', async () => {
    await create('wfc-failover', [
      ...countingStep,
      '',
      'def handler(event, context):',
      '    context.step("one", lambda: count(context.state, context.workflow_id))',
      '    context.sleep(event["sleep"])',
      '    return context.step("two", lambda: "done")',
    ]);
    const { workflowId } = await start({
      function: 'wfc-failover',
      input: '{"sleep": 4}',
      workflowId: 'wfc-failover-1',
    });
    await waitUntil('the workflow sleeps', async () => (await workflowOf(workflowId)).status === 'sleeping');
    const owner = (await workflowOf(workflowId)).ownerNode;
    assert.ok(topology.dataPlanes.has(owner), `owned by a data-plane node (${owner})`);
    const killedAt = Date.now();
    topology.dataPlanes.get(owner)!.child.kill('SIGKILL');
    await waitUntil('the workflow ends', async () => (await workflowOf(workflowId)).status === 'succeeded', 30_000);
    const done = await workflowOf(workflowId);
    assert.equal(done.result, '"done"');
    assert.notEqual(done.ownerNode, owner);
    assert.deepEqual(
      (await state.getState({ namespace: 'default', agentId: 'wfc-failover', key: workflowId })).value,
      { n: 1 },
      'step one ran once',
    );
    assert.deepEqual(
      done.steps.map((step) => [step.name, step.node]),
      [
        ['one', owner],
        ['sleep', owner],
        ['two', done.ownerNode],
      ],
    );
    const events: workflows.WorkflowEvent[] = [];
    for await (const event of client.watchWorkflow({ workflowId })) events.push(event);
    const moved = events.find((event) => event.kind === 'owner_change');
    assert.ok(moved, 'an owner_change event');
    assert.equal(moved.fromNode, owner);
    assert.equal(moved.toNode, done.ownerNode);
    assert.equal(moved.reason, 'owner_dead');
    const takenOverMs = Date.parse(moved.at) - killedAt;
    assert.ok(takenOverMs <= LEASE_MS + 1000, `taken over ${takenOverMs} ms after the kill (lease ${LEASE_MS} ms)`);
    assert.deepEqual(
      events.map((event) => event.kind),
      ['workflow_start', 'checkpoint', 'sleep', 'owner_change', 'wake', 'checkpoint', 'workflow_end'],
    );
  });
});
