import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  createRaftServiceClient,
  createStatehouseClient,
  createWorkflowManagementClient,
  createWorkflowsClient,
  type StatehousePromiseClient,
  type WorkflowsPromiseClient,
} from '#proto';
import type { raftoral, workflows } from '#proto';
import type { PromiseClient } from '#proto';
import { callsOf, useNova } from './support/fixture.js';
import { runCli } from './support/nova-process.js';
import { codeOf, statusOf } from './support/grpc-status.js';

type WorkflowManagement = PromiseClient<raftoral.WorkflowManagementClient>;
type RaftService = PromiseClient<raftoral.RaftServiceClient>;

// Issue 12: durable workflows on one node (failover across nodes is in workflows-cluster.e2e-spec.ts).
describe('workflows', () => {
  const fx = useNova({ NOVA_WORKFLOW_LEASE_MS: '2000' });
  const { create } = callsOf(fx);
  let client: WorkflowsPromiseClient;
  let management: WorkflowManagement;
  let raft: RaftService;
  let state: StatehousePromiseClient;

  before(() => {
    client = createWorkflowsClient({ address: fx.nova.address });
    management = createWorkflowManagementClient({ address: fx.nova.address });
    raft = createRaftServiceClient({ address: fx.nova.address });
    state = createStatehouseClient({ address: fx.nova.address });
  });

  const python = (name: string, code: string[], overrides = {}) =>
    create({ name, runtime: 'python', handler: 'handler', code: Buffer.from(code.join('\n') + '\n'), ...overrides });
  const node = (name: string, code: string[], overrides = {}) =>
    create({ name, runtime: 'node', handler: 'handler', code: Buffer.from(code.join('\n') + '\n'), ...overrides });

  async function finished(workflowId: string, timeoutMs = 30_000): Promise<workflows.WorkflowInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { workflow } = await client.getWorkflow({ workflowId });
      if (workflow && ['succeeded', 'failed', 'cancelled'].includes(workflow.status)) return workflow;
      if (Date.now() > deadline) assert.fail(`workflow ${workflowId} is still ${workflow?.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const start = (request: Partial<workflows.StartWorkflowRequest>) =>
    client.startWorkflow({ function: '', version: 0, input: '', workflowId: '', maxAttempts: 0, ...request });

  async function counter(agentId: string, key: string): Promise<unknown> {
    const found = await state.getState({ namespace: 'default', agentId, key });
    return found.exists ? found.value : undefined;
  }

  it('python: three steps run to a result through nova.v1.Workflows; each step counted exactly once', async () => {
    await python('wf-three-py', [
      'def bump(state, key):',
      '    with state.transaction() as tx:',
      '        current = tx.get(key) or {"n": 0}',
      '        tx.write(key, {"n": current["n"] + 1})',
      '    return key',
      '',
      'def handler(event, context):',
      '    a = context.step("one", lambda: event["x"] + 1)',
      '    b = context.step("two", lambda: bump(context.state, "two"))',
      '    c = context.step("three", lambda: {"sum": a * 10, "id": context.workflow_id})',
      '    return {"a": a, "b": b, "c": c}',
    ]);
    const started = await start({
      function: 'wf-three-py',
      input: '{"x": 4}',
      workflowId: 'wf-three-1',
    });
    assert.equal(started.workflowId, 'wf-three-1');
    assert.equal(started.created, true);
    const done = await finished('wf-three-1');
    assert.equal(done.status, 'succeeded', done.error);
    assert.deepEqual(JSON.parse(done.result), { a: 5, b: 'two', c: { sum: 50, id: 'wf-three-1' } });
    const { workflow } = await client.getWorkflow({ workflowId: 'wf-three-1' });
    assert.deepEqual(
      workflow!.steps.map((step) => [step.index, step.name, step.kind, step.result]),
      [
        [0, 'one', 'step', '5'],
        [1, 'two', 'step', '"two"'],
        [2, 'three', 'step', '{"sum":50,"id":"wf-three-1"}'],
      ],
    );
    assert.ok(workflow!.steps.every((step) => step.node !== '' && step.finishedAt !== ''));
    assert.deepEqual(await counter('wf-three-py', 'two'), { n: 1 });
  });

  it('node: steps and a short durable sleep; the sleep resumes the run and finished steps are not run again', async () => {
    await node('wf-sleep-node', [
      'exports.handler = async (event, context) => {',
      '  const first = await context.step("first", async () => {',
      '    await context.state.transaction(async (tx) => {',
      '      const seen = (await tx.get("runs")) ?? { n: 0 };',
      '      tx.write("runs", { n: seen.n + 1 });',
      '    });',
      '    return { at: "first" };',
      '  });',
      '  await context.sleep(1);',
      '  const second = await context.step("second", async () => ({ workflow: context.workflowId }));',
      '  return { first, second };',
      '};',
    ]);
    const started = await start({ function: 'wf-sleep-node', input: '{}', workflowId: 'wf-sleep-1' });
    assert.equal(started.created, true);
    const done = await finished('wf-sleep-1');
    assert.equal(done.status, 'succeeded', done.error);
    assert.deepEqual(JSON.parse(done.result), { first: { at: 'first' }, second: { workflow: 'wf-sleep-1' } });
    assert.deepEqual(await counter('wf-sleep-node', 'runs'), { n: 1 }, 'the first step ran once');
    const { workflow } = await client.getWorkflow({ workflowId: 'wf-sleep-1' });
    assert.deepEqual(
      workflow!.steps.map((step) => step.kind),
      ['step', 'sleep', 'step'],
    );
    const events: string[] = [];
    for await (const event of client.watchWorkflow({ workflowId: 'wf-sleep-1' })) events.push(event.kind);
    assert.deepEqual(events, ['workflow_start', 'checkpoint', 'sleep', 'wake', 'checkpoint', 'workflow_end']);
  });

  it('the same workflow_id started twice is one workflow', async () => {
    await python('wf-idem', ['def handler(event, context):', '    return context.step("s", lambda: event)']);
    const first = await start({ function: 'wf-idem', input: '1', workflowId: 'wf-idem-1' });
    const second = await start({ function: 'wf-idem', input: '2', workflowId: 'wf-idem-1' });
    assert.equal(first.created, true);
    assert.equal(second.created, false);
    assert.equal(second.workflowId, 'wf-idem-1');
    assert.equal((await finished('wf-idem-1')).result, '1');
    const listed = await client.listWorkflows({ function: 'wf-idem', status: '', limit: 0, offset: 0 });
    assert.equal(listed.total, 1);
  });

  it('a failing step is retried and then the workflow fails; finished steps are not run again', async () => {
    await python('wf-fails', [
      'def bump(state):',
      '    with state.transaction() as tx:',
      '        seen = tx.get("ok") or {"n": 0}',
      '        tx.write("ok", {"n": seen["n"] + 1})',
      '',
      'def boom():',
      '    raise ValueError("no luck")',
      '',
      'def handler(event, context):',
      '    context.step("ok", lambda: bump(context.state))',
      '    context.step("boom", boom)',
    ]);
    await start({ function: 'wf-fails', input: '{}', workflowId: 'wf-fails-1', maxAttempts: 2 });
    const done = await finished('wf-fails-1');
    assert.equal(done.status, 'failed');
    assert.match(done.error, /ValueError: no luck/);
    assert.equal(done.attempt, 2);
    assert.deepEqual(await counter('wf-fails', 'ok'), { n: 1 });
    const kinds: string[] = [];
    for await (const event of client.watchWorkflow({ workflowId: 'wf-fails-1' })) kinds.push(event.kind);
    assert.deepEqual(kinds.filter((kind) => kind === 'step_failed').length, 2);
    assert.deepEqual(kinds.filter((kind) => kind === 'attempt_failed').length, 1);
    assert.equal(kinds.at(-1), 'workflow_end');
  });

  it('a workflow whose resumed code asks for steps in another order fails clearly', async () => {
    // The state key decides the order: the first run takes a, then sleeps; the resumed one asks for b first.
    await python('wf-order', [
      'def handler(event, context):',
      '    with context.state.transaction() as tx:',
      '        runs = (tx.get("runs") or {"n": 0})["n"] + 1',
      '        tx.write("runs", {"n": runs})',
      '    first, second = ("a", "b") if runs == 1 else ("b", "a")',
      '    context.step(first, lambda: 1)',
      '    context.sleep(0.3)',
      '    context.step(second, lambda: 2)',
      '    return "done"',
    ]);
    await start({ function: 'wf-order', input: '{}', workflowId: 'wf-order-1' });
    const done = await finished('wf-order-1');
    assert.equal(done.status, 'failed');
    assert.match(
      done.error,
      /NonDeterministicWorkflow: checkpoint 0 .* is step "a", but the resumed code asked for step "b"/,
    );
  });

  it('cancel stops a sleeping workflow; it runs no more', async () => {
    await python('wf-cancel', [
      'def handler(event, context):',
      '    context.step("before", lambda: 1)',
      '    context.sleep(60)',
      '    context.step("after", lambda: 2)',
    ]);
    await start({ function: 'wf-cancel', input: '{}', workflowId: 'wf-cancel-1' });
    const deadline = Date.now() + 20_000;
    while ((await client.getWorkflow({ workflowId: 'wf-cancel-1' })).workflow!.status !== 'sleeping') {
      assert.ok(Date.now() < deadline, 'the workflow sleeps');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const cancelled = await client.cancelWorkflow({ workflowId: 'wf-cancel-1' });
    assert.equal(cancelled.status, 'cancelled');
    const again = await client.cancelWorkflow({ workflowId: 'wf-cancel-1' });
    assert.equal(again.status, 'cancelled');
    const { workflow } = await client.getWorkflow({ workflowId: 'wf-cancel-1' });
    assert.deepEqual(
      workflow!.steps.map((step) => step.name),
      ['before', 'sleep'],
    );
  });

  it('raftoral.WorkflowManagement: RunWorkflowSync, RunWorkflowAsync then Wait, and failures the seed way', async () => {
    await python('wf-raftoral', [
      'def handler(event, context):',
      '    doubled = context.step("double", lambda: event["value"] * 2)',
      '    if doubled < 0:',
      '        raise RuntimeError("negative")',
      '    return {"result": context.step("add", lambda: doubled + 1)}',
    ]);
    const sync = await management.runWorkflowSync({
      workflowType: 'wf-raftoral',
      version: 0,
      inputJson: '{"value": 20}',
    });
    assert.deepEqual(sync, { success: true, resultJson: '{"result": 41}', error: '' });
    const started = await management.runWorkflowAsync({
      workflowType: 'wf-raftoral',
      version: 1,
      inputJson: '{"value": 1}',
    });
    assert.equal(started.success, true, started.error);
    assert.equal(started.executionClusterId, '1');
    const waited = await management.waitForWorkflowCompletion({
      workflowId: started.workflowId,
      executionClusterId: started.executionClusterId,
      timeoutSeconds: 30,
    });
    assert.deepEqual(waited, { success: true, resultJson: '{"result": 3}', error: '' });
    const unknown = await management.runWorkflowSync({ workflowType: 'wf-nope', version: 0, inputJson: '{}' });
    assert.equal(unknown.success, false);
    assert.match(unknown.error, /wf-nope/);
    const failing = await management.runWorkflowAsync({
      workflowType: 'wf-raftoral',
      version: 0,
      inputJson: '{"value": -1}',
    });
    const failed = await management.waitForWorkflowCompletion({
      workflowId: failing.workflowId,
      executionClusterId: '',
      timeoutSeconds: 60,
    });
    assert.equal(failed.success, false);
    assert.match(failed.error, /RuntimeError: negative/);
    assert.equal(
      await codeOf(management.runWorkflowSync({ workflowType: 'wf-raftoral', version: 0, inputJson: '{not json' })),
      status.INVALID_ARGUMENT,
    );
  });

  it('WaitForWorkflowCompletion says when it timed out', async () => {
    await python('wf-slow', ['def handler(event, context):', '    context.sleep(30)']);
    const started = await management.runWorkflowAsync({ workflowType: 'wf-slow', version: 0, inputJson: '{}' });
    const waited = await management.waitForWorkflowCompletion({
      workflowId: started.workflowId,
      executionClusterId: '1',
      timeoutSeconds: 1,
    });
    assert.equal(waited.success, false);
    assert.match(waited.error, /timed out after 1 s/);
    await client.cancelWorkflow({ workflowId: started.workflowId });
  });

  it('raftoral.RaftService: Discover, AddNode, SendMessage', async () => {
    const discovered = await raft.discover({});
    assert.ok(discovered.nodeId > 0, 'this node has a number');
    assert.ok(discovered.highestKnownNodeId >= discovered.nodeId);
    assert.equal(discovered.address, fx.nova.address.replace('localhost', '127.0.0.1'));
    assert.equal(discovered.managementLeaderNodeId, discovered.nodeId, 'the unified node serves the control plane');
    assert.equal(discovered.currentVoterCount, 0);
    const added = await raft.addNode({ nodeId: 4242, address: '10.0.0.9:7001' });
    assert.deepEqual(added, { success: true, error: '' });
    assert.equal((await raft.discover({})).highestKnownNodeId, 4242);
    const taken = await raft.addNode({ nodeId: discovered.nodeId, address: '10.0.0.9:7002' });
    assert.equal(taken.success, false);
    assert.equal(await codeOf(raft.addNode({ nodeId: 0, address: 'x:1' })), status.INVALID_ARGUMENT);
    const refused = await statusOf(
      raft.sendMessage({ clusterId: 0, propose: { commandJson: Buffer.from('{}'), syncId: 0 } }),
    );
    assert.equal(refused.code, status.UNIMPLEMENTED);
    assert.match(refused.details, /PostgreSQL/);
  });

  it('refuses bad starts with the right codes', async () => {
    const code = (request: Partial<workflows.StartWorkflowRequest>): Promise<status> => codeOf(start(request));
    assert.equal(await code({}), status.INVALID_ARGUMENT);
    assert.equal(await code({ function: 'wf-missing' }), status.NOT_FOUND);
    assert.equal(await code({ function: 'wf-idem', input: '{' }), status.INVALID_ARGUMENT);
    assert.equal(await code({ function: 'wf-idem', workflowId: 'has space' }), status.INVALID_ARGUMENT);
    assert.equal(await code({ function: 'wf-idem', maxAttempts: 11 }), status.INVALID_ARGUMENT);
    assert.equal(await code({ function: 'wf-three-py', workflowId: 'wf-idem-1' }), status.ALREADY_EXISTS);
    assert.equal(await codeOf(client.getWorkflow({ workflowId: 'nope' })), status.NOT_FOUND);
    assert.equal(await codeOf(client.cancelWorkflow({ workflowId: 'nope' })), status.NOT_FOUND);
  });

  it('context.step outside a workflow fails clearly', async () => {
    await python('wf-not', ['def handler(event, context):', '    return context.step("x", lambda: 1)']);
    const response = await callsOf(fx).invoke('wf-not', '');
    assert.match(response.error, /only in a workflow/);
  });

  it('nova workflows: run --wait shows the steps live and prints the result; get, ls, watch, cancel', async () => {
    await python('wf-cli', [
      'def handler(event, context):',
      '    a = context.step("fetch", lambda: event["city"].upper())',
      '    return context.step("plan", lambda: {"city": a, "days": event["days"]})',
    ]);
    const env = { NOVA_ADDR: fx.nova.address };
    const run = await runCli(
      ['workflows', 'run', 'wf-cli', '{"city": "paris", "days": 3}', '--wait', '--id', 'wf-cli-1'],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { city: 'PARIS', days: 3 });
    assert.match(run.stderr, /workflow wf-cli-1/);
    assert.match(run.stderr, /step 0 "fetch" done on .* in \d+ ms \(attempt 1\)/);
    assert.match(run.stderr, /step 1 "plan" done/);
    assert.match(run.stderr, /succeeded: \{"city":"PARIS","days":3\}/);

    const again = await runCli(['workflows', 'run', 'wf-cli', '{}', '--id', 'wf-cli-1'], env);
    assert.equal(again.stdout.trim(), 'wf-cli-1 already exists (succeeded)');

    const get = await runCli(['workflows', 'get', 'wf-cli-1'], env);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /status:\s+succeeded/);
    assert.match(get.stdout, /#\s+STEP\s+NODE\s+ATTEMPT\s+TOOK\s+RESULT/);
    assert.match(get.stdout, /1\s+plan\s+/);

    const list = await runCli(['workflows', 'ls', '--function', 'wf-cli', '--json'], env);
    assert.equal((JSON.parse(list.stdout) as { total: number }).total, 1);

    const watch = await runCli(['workflows', 'watch', 'wf-cli-1'], env);
    assert.equal(watch.code, 0, watch.stderr);
    assert.deepEqual(
      watch.stdout
        .trim()
        .split('\n')
        .map((line) => line.replace(/^\S+ \S+\s+/, '').split(' ')[0]),
      ['started', 'step', 'step', 'succeeded:'],
    );

    await python('wf-cli-fail', ['def handler(event, context):', '    context.step("x", lambda: 1 / 0)']);
    const failed = await runCli(['workflows', 'run', 'wf-cli-fail', '--wait', '--max-attempts', '1'], env);
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /failed: ZeroDivisionError/);

    await python('wf-cli-sleep', ['def handler(event, context):', '    context.sleep(60)']);
    const started = await runCli(['workflows', 'run', 'wf-cli-sleep', '--id', 'wf-cli-sleep-1'], env);
    assert.equal(started.stdout.trim(), 'wf-cli-sleep-1 started');
    const cancel = await runCli(['workflows', 'cancel', 'wf-cli-sleep-1'], env);
    assert.equal(cancel.stdout.trim(), 'cancelled wf-cli-sleep-1');
    const missing = await runCli(['workflows', 'get', 'nope'], env);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found/);
  });
});
