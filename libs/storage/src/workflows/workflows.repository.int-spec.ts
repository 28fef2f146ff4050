import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { waitUntil } from '../../../../test/support/wait.js';
import { NotificationListener } from '../database/notification-listener.js';
import { notifyChannels, type WorkflowChange } from '../database/notify-channels.js';
import { NodesRepository } from '../nodes/nodes.repository.js';
import { StateRepository } from '../state/state.repository.js';
import type { NewWorkflow, StepCheckpoint } from './workflow-record.js';
import { WorkflowsRepository } from './workflows.repository.js';

const LEASE_MS = 60_000;

const workflow = (id: string, overrides: Partial<NewWorkflow> = {}): NewWorkflow => ({
  id,
  functionName: 'wf-fn',
  functionVersion: 1,
  input: '{"a":1}',
  maxAttempts: 3,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  correlationId: 'req-1',
  ...overrides,
});

const checkpoint = (workflowId: string, seq: number, overrides: Partial<StepCheckpoint> = {}): StepCheckpoint => ({
  workflowId,
  seq,
  name: `step-${seq}`,
  result: JSON.stringify({ seq }),
  attempt: 1,
  nodeId: 'node-a',
  startedAt: new Date(),
  operations: [],
  txnId: crypto.randomUUID(),
  ...overrides,
});

// Workflows' queries against the real PostgreSQL: leases, fencing, checkpoints with state, events and NOTIFYs.
describe('WorkflowsRepository (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let workflows: WorkflowsRepository;
  let state: StateRepository;
  let nodes: NodesRepository;
  const changes: WorkflowChange[] = [];
  const eventsHeard: string[] = [];

  before(async () => {
    db = await openIntegrationDatabase();
    module = await compileFeature(db.database, { imports: [] });
    workflows = module.get(WorkflowsRepository);
    state = module.get(StateRepository);
    nodes = module.get(NodesRepository);
    const listener = module.get(NotificationListener);
    await listener.subscribe(notifyChannels.workflows, (payload) =>
      changes.push(JSON.parse(payload) as WorkflowChange),
    );
    await listener.subscribe(notifyChannels.workflowEvents, (id) => eventsHeard.push(id));
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  /** Claims until `id` is among the claimed (other specs' workflows may be claimable too). */
  async function claimed(owner: string, node: string, id: string) {
    const all = await workflows.claim(owner, node, 100, LEASE_MS);
    const mine = all.find((candidate) => candidate.id === id);
    assert.ok(mine, `${owner} claimed ${id}`);
    return mine;
  }

  it('starts a workflow once per id, notifying the workers and its watchers', async () => {
    const first = await workflows.start(workflow('start-1'));
    assert.equal(first.created, true);
    assert.equal(first.record.status, 'pending');
    const second = await workflows.start(workflow('start-1', { input: '{"a":2}' }));
    assert.equal(second.created, false);
    assert.equal(second.record.input, '{"a":1}');
    await waitUntil('the start is heard', () => changes.some((change) => change.id === 'start-1'), 5000);
    await waitUntil('its event is heard', () => eventsHeard.includes('start-1'), 5000);
    assert.deepEqual(
      (await workflows.events('start-1')).map((event) => event.kind),
      ['workflow_start'],
    );
  });

  it('claims under a lease, checkpoints with state in one transaction, and fences a lost lease', async () => {
    await workflows.start(workflow('ckpt-1'));
    const run = await claimed('node-a/1', 'node-a', 'ckpt-1');
    assert.equal(run.status, 'running');
    assert.equal(run.previousOwner, undefined);
    assert.ok(!(await workflows.claim('node-b/1', 'node-b', 100, LEASE_MS)).some((w) => w.id === 'ckpt-1'));

    const written = await workflows.checkpoint(
      'node-a/1',
      checkpoint('ckpt-1', 0, {
        operations: [{ namespace: 'default', agentId: 'wf-fn', key: 'ckpt-1', kind: 'write', value: { n: 1 } }],
      }),
    );
    assert.deepEqual(written, { written: true });
    assert.deepEqual((await state.get({ namespace: 'default', agentId: 'wf-fn', key: 'ckpt-1' })).value, { n: 1 });

    // A state read that no longer holds: the step and its checkpoint are both refused.
    const conflict = await workflows.checkpoint(
      'node-a/1',
      checkpoint('ckpt-1', 1, {
        operations: [{ namespace: 'default', agentId: 'wf-fn', key: 'ckpt-1', kind: 'check', expectedVersion: 0 }],
      }),
    );
    assert.ok('conflict' in conflict);

    // Another owner's write is fenced off, and so is a checkpoint at a place already taken.
    assert.deepEqual(await workflows.checkpoint('node-b/1', checkpoint('ckpt-1', 1)), {
      written: false,
      reason: 'lease_lost',
    });
    assert.deepEqual(await workflows.checkpoint('node-a/1', checkpoint('ckpt-1', 0)), {
      written: false,
      reason: 'lease_lost',
    });

    // With a held state transaction (the step's reads locked keys in it), the checkpoint commits it.
    const held = await state.open(5000);
    await held.lockedGet({ namespace: 'default', agentId: 'wf-fn', key: 'ckpt-1' });
    const withHeld = await workflows.checkpoint(
      'node-a/1',
      checkpoint('ckpt-1', 1, {
        operations: [
          { namespace: 'default', agentId: 'wf-fn', key: 'ckpt-1', kind: 'check', expectedVersion: 1 },
          { namespace: 'default', agentId: 'wf-fn', key: 'ckpt-1', kind: 'write', value: { n: 2 } },
        ],
      }),
      held,
    );
    assert.deepEqual(withHeld, { written: true });
    assert.equal((await state.get({ namespace: 'default', agentId: 'wf-fn', key: 'ckpt-1' })).version, 2);

    const steps = await workflows.steps('ckpt-1');
    assert.deepEqual(
      steps.map((step) => [step.seq, step.kind, step.name, step.result, step.nodeId]),
      [
        [0, 'step', 'step-0', '{"seq":0}', 'node-a'],
        [1, 'step', 'step-1', '{"seq":1}', 'node-a'],
      ],
    );
    await workflows.stepFailed('ckpt-1', { seq: 2, name: 'step-2', attempt: 1, nodeId: 'node-a', error: 'boom' });
    assert.equal(await workflows.finish('node-b/1', 'ckpt-1', { status: 'succeeded', result: '1' }), false);
    assert.equal(await workflows.finish('node-a/1', 'ckpt-1', { status: 'succeeded', result: '{"ok":true}' }), true);
    const ended = (await workflows.get('ckpt-1'))!;
    assert.deepEqual([ended.status, ended.result, ended.ownerNode], ['succeeded', '{"ok":true}', 'node-a']);
    assert.ok(ended.finishedAt);
    const events = await workflows.events('ckpt-1');
    assert.deepEqual(
      events.map((event) => event.kind),
      ['workflow_start', 'checkpoint', 'checkpoint', 'step_failed', 'workflow_end'],
    );
    assert.deepEqual(events[1]!.data['step'], 'step-0');
    assert.deepEqual(events.at(-1)!.data['status'], 'succeeded');
    assert.deepEqual(
      (await workflows.events('ckpt-1', events[2]!.id)).map((event) => event.kind),
      ['step_failed', 'workflow_end'],
    );
  });

  it('sleeps, suspends, wakes its own sleeper when due, and renews leases', async () => {
    await workflows.start(workflow('sleep-1'));
    await claimed('node-a/2', 'node-a', 'sleep-1');
    const wakeAt = new Date(Date.now() + 300);
    assert.equal(
      await workflows.sleep('node-a/2', { workflowId: 'sleep-1', seq: 0, attempt: 1, nodeId: 'node-a', wakeAt }),
      true,
    );
    assert.equal(await workflows.suspend('node-a/2', 'sleep-1', wakeAt), true);
    assert.equal((await workflows.get('sleep-1'))!.status, 'sleeping');
    assert.ok((await workflows.renew('node-a/2', LEASE_MS)) >= 1);
    assert.ok(!(await workflows.claim('node-a/2', 'node-a', 100, LEASE_MS)).some((w) => w.id === 'sleep-1'), 'not due');
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.ok(
      !(await workflows.claim('node-b/2', 'node-b', 100, LEASE_MS)).some((w) => w.id === 'sleep-1'),
      'not theirs',
    );
    const resumed = await claimed('node-a/2', 'node-a', 'sleep-1');
    assert.equal(resumed.previousOwner, undefined, 'its own owner resumes it');
    assert.equal(await workflows.wake('node-a/2', 'sleep-1', 0, 'node-a'), true);
    assert.equal(await workflows.wake('node-a/2', 'sleep-1', 0, 'node-a'), true, 'a second wake writes nothing');
    assert.deepEqual(
      (await workflows.events('sleep-1')).map((event) => event.kind),
      ['workflow_start', 'sleep', 'wake'],
    );
    assert.ok((await workflows.steps('sleep-1'))[0]!.finishedAt);
  });

  it('hands a dead node\u2019s workflow to another node with an owner_change event', async () => {
    await nodes.register({
      id: 'dying',
      address: '127.0.0.1:1',
      planes: ['data-plane'],
      runtimes: ['python'],
      capacity: 1,
      version: '0',
      heartbeatMs: 100,
    });
    await workflows.start(workflow('dead-1'));
    await claimed('dying/1', 'dying', 'dead-1');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.ok((await workflows.expireLeasesOfDeadNodes()) >= 1);
    const taken = await claimed('node-b/3', 'node-b', 'dead-1');
    assert.equal(taken.previousOwner, 'dying/1');
    const moved = (await workflows.events('dead-1')).find((event) => event.kind === 'owner_change');
    assert.deepEqual(moved?.data, { from: 'dying', to: 'node-b', reason: 'owner_dead' });
    assert.equal(
      await workflows.checkpoint('dying/1', checkpoint('dead-1', 0)).then((r) => 'written' in r && r.written),
      false,
    );
  });

  it('retries with the attempt counted, gives back on release, cancels, and lists newest first', async () => {
    await workflows.start(workflow('retry-1', { functionName: 'wf-list' }));
    await claimed('node-a/4', 'node-a', 'retry-1');
    assert.equal(await workflows.retry('node-a/4', 'retry-1', 'Error: once', new Date(Date.now() - 1)), true);
    const retried = (await workflows.get('retry-1'))!;
    assert.deepEqual([retried.status, retried.attempt, retried.error], ['pending', 2, 'Error: once']);
    await claimed('node-b/4', 'node-b', 'retry-1');
    await workflows.release('node-b/4', 'retry-1');
    assert.equal((await workflows.get('retry-1'))!.status, 'pending');
    assert.equal((await workflows.cancel('retry-1'))!.status, 'cancelled');
    assert.equal((await workflows.cancel('retry-1'))!.status, 'cancelled', 'cancelling again changes nothing');
    assert.equal(await workflows.cancel('no-such-workflow'), undefined);
    await waitUntil('the cancel is heard', () => changes.some((c) => c.op === 'cancelled' && c.id === 'retry-1'), 5000);

    await workflows.start(workflow('list-2', { functionName: 'wf-list' }));
    const page = await workflows.list({ functionName: 'wf-list', limit: 10, offset: 0 });
    assert.deepEqual(
      page.workflows.map((w) => w.id),
      ['list-2', 'retry-1'],
    );
    assert.equal(page.total, 2);
    assert.equal(
      (await workflows.list({ functionName: 'wf-list', status: 'cancelled', limit: 10, offset: 0 })).total,
      1,
    );
    assert.deepEqual(
      (await workflows.events('retry-1')).map((event) => event.kind),
      ['workflow_start', 'attempt_failed', 'workflow_end'],
    );
  });
});
