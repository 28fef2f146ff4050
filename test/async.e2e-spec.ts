import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createControlPlaneClient, createDataPlaneClient, type dataPlane } from '#proto';
import { createTestDatabase, startNova, type NovaProcess, type TestDatabase } from './support/nova-process.js';
import { asyncRequest, createRequest, invokeRequest } from './support/requests.js';
import { useNova } from './support/fixture.js';
import { HitCounter } from './support/hit-counter.js';
import { codeOf } from './support/grpc-status.js';

type DataPlane = ReturnType<typeof createDataPlaneClient>;

/** Polls until the invocation reaches one of the statuses. */
async function waitForStatus(
  dp: DataPlane,
  id: string,
  statuses: string[],
  timeoutMs = 20_000,
): Promise<dataPlane.InvocationLog> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const invocation = await dp.getInvocation({ id });
    if (statuses.includes(invocation.status)) return invocation;
    if (Date.now() > deadline)
      assert.fail(`${id} still ${invocation.status} (attempt ${invocation.attempts}) after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('InvokeAsync: durable queue, retries, dead letters, idempotency', () => {
  const fx = useNova({ NOVA_ASYNC_CONCURRENCY: '2' });
  const counter = new HitCounter();

  before(() => counter.start());
  after(() => counter.stop());

  it('answers "queued" at once and runs the function, visible in GetInvocation and ListInvocations', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'async-ok',
        code: Buffer.from('def handler(event):\n    print("ran")\n    return {"doubled": event["n"] * 2}\n'),
      }),
    );
    const queued = await fx.dp.invokeAsync(asyncRequest('async-ok', { payload: Buffer.from('{"n": 21}') }));
    assert.equal(queued.status, 'queued');
    assert.match(queued.invocationId, /^[0-9a-f-]{36}$/);
    const done = await waitForStatus(fx.dp, queued.invocationId, ['succeeded']);
    assert.deepEqual(JSON.parse(Buffer.from(done.output).toString()), { doubled: 42 });
    assert.equal(done.attempts, 1);
    assert.equal(done.async, true);
    assert.equal(done.log, 'ran\n');
    assert.deepEqual(
      done.attemptHistory.map((attempt) => [attempt.attempt, attempt.error]),
      [[1, '']],
    );
    const listed = await fx.dp.listInvocations({ status: '', function: 'async-ok', limit: 0, offset: 0 });
    assert.equal(listed.total, 1);
    assert.equal(listed.invocations[0]?.id, queued.invocationId);
    assert.equal(listed.invocations[0]?.status, 'succeeded');
  });

  it('retries with exponential backoff until the third attempt succeeds', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'async-flaky',
        code: Buffer.from(
          'def handler(event, context):\n    attempt = int(context.metadata["attempt"])\n    if attempt < 3:\n        raise RuntimeError("attempt %d failed" % attempt)\n    return "third time lucky"\n',
        ),
      }),
    );
    const queued = await fx.dp.invokeAsync(
      asyncRequest('async-flaky', { maxAttempts: 5, backoffBaseMs: 300, backoffMaxMs: 10_000 }),
    );
    const retrying = await waitForStatus(fx.dp, queued.invocationId, ['failed']);
    assert.equal(retrying.error, 'RuntimeError: attempt 1 failed');
    assert.ok(retrying.nextAttemptAt !== '', 'a waiting retry says when it runs');
    const done = await waitForStatus(fx.dp, queued.invocationId, ['succeeded']);
    assert.equal(Buffer.from(done.output).toString(), '"third time lucky"');
    assert.equal(done.attempts, 3);
    assert.deepEqual(
      done.attemptHistory.map((attempt) => attempt.error),
      ['RuntimeError: attempt 1 failed', 'RuntimeError: attempt 2 failed', ''],
    );
    const starts = done.attemptHistory.map((attempt) => Date.parse(attempt.startedAt));
    // Equal jitter: retry n waits between half and all of base × 2^(n−1).
    assert.ok(starts[1]! - starts[0]! >= 150, `first retry after ${starts[1]! - starts[0]!} ms`);
    assert.ok(starts[2]! - starts[1]! >= 300, `second retry after ${starts[2]! - starts[1]!} ms`);
  });

  it('keeps an invocation that failed every attempt as dead_letter, with every error', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'async-doomed',
        code: Buffer.from('def handler(event, context):\n    raise ValueError("no " + context.metadata["attempt"])\n'),
      }),
    );
    const queued = await fx.dp.invokeAsync(
      asyncRequest('async-doomed', { maxAttempts: 3, backoffBaseMs: 50, backoffMaxMs: 100 }),
    );
    const dead = await waitForStatus(fx.dp, queued.invocationId, ['dead_letter']);
    assert.equal(dead.attempts, 3);
    assert.equal(dead.maxAttempts, 3);
    assert.equal(dead.error, 'ValueError: no 3');
    assert.deepEqual(
      dead.attemptHistory.map((attempt) => attempt.error),
      ['ValueError: no 1', 'ValueError: no 2', 'ValueError: no 3'],
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await fx.dp.getInvocation({ id: queued.invocationId })).attempts, 3, 'no attempt after the last');
    const listed = await fx.dp.listInvocations({ status: '', function: 'async-doomed', limit: 0, offset: 0 });
    assert.equal(listed.invocations[0]?.status, 'dead_letter');
    const deadLetters = await fx.dp.listInvocations({ status: 'dead_letter', function: '', limit: 0, offset: 0 });
    assert.ok(deadLetters.invocations.some((invocation) => invocation.id === queued.invocationId));
    assert.ok(deadLetters.invocations.every((invocation) => invocation.status === 'dead_letter'));
    assert.equal(deadLetters.total, deadLetters.invocations.length);
  });

  it('retries timeouts and crashes too', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'async-crashy',
        timeoutS: 1,
        code: Buffer.from(
          'import os, time\ndef handler(event, context):\n    attempt = context.metadata["attempt"]\n    if attempt == "1":\n        time.sleep(5)\n    if attempt == "2":\n        os._exit(7)\n    return "survived"\n',
        ),
      }),
    );
    const queued = await fx.dp.invokeAsync(asyncRequest('async-crashy', { maxAttempts: 3, backoffBaseMs: 50 }));
    const done = await waitForStatus(fx.dp, queued.invocationId, ['succeeded', 'dead_letter']);
    assert.equal(done.status, 'succeeded');
    assert.match(done.attemptHistory[0]?.error ?? '', /^Timeout/);
    assert.match(done.attemptHistory[1]?.error ?? '', /^RuntimeExitError: .*code 7/);
  });

  it('returns the first invocation for a repeated idempotency key, sequentially and concurrently, running it once', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'async-once',
        runtime: 'node',
        network: 'egress',
        code: Buffer.from(
          `exports.handler = async (event, context) => { await fetch('${counter.url}/hit?id=' + event.tag); return 1; };`,
        ),
      }),
    );
    const first = await fx.dp.invokeAsync(
      asyncRequest('async-once', { idempotencyKey: 'order-1', payload: Buffer.from('{"tag":"seq"}') }),
    );
    const second = await fx.dp.invokeAsync(
      asyncRequest('async-once', { idempotencyKey: 'order-1', payload: Buffer.from('{"tag":"seq"}') }),
    );
    assert.equal(second.invocationId, first.invocationId);
    await waitForStatus(fx.dp, first.invocationId, ['succeeded']);
    const third = await fx.dp.invokeAsync(
      asyncRequest('async-once', { idempotencyKey: 'order-1', payload: Buffer.from('{"tag":"seq"}') }),
    );
    assert.deepEqual(third, { invocationId: first.invocationId, status: 'succeeded' });

    const together = await Promise.all(
      Array.from({ length: 12 }, () =>
        fx.dp.invokeAsync(
          asyncRequest('async-once', { idempotencyKey: 'order-2', payload: Buffer.from('{"tag":"par"}') }),
        ),
      ),
    );
    assert.equal(new Set(together.map((response) => response.invocationId)).size, 1);
    await waitForStatus(fx.dp, together[0]!.invocationId, ['succeeded']);
    // A different function may use the same key.
    await fx.cp.createFunction(createRequest({ name: 'async-other', code: Buffer.from('def handler(e): return 0\n') }));
    const other = await fx.dp.invokeAsync(asyncRequest('async-other', { idempotencyKey: 'order-1' }));
    assert.notEqual(other.invocationId, first.invocationId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await counter.refresh();
    assert.equal(counter.hits.get('seq'), 1);
    assert.equal(counter.hits.get('par'), 1);
    assert.equal((await fx.dp.listInvocations({ status: '', function: 'async-once', limit: 0, offset: 0 })).total, 2);
  });

  it('runs at most NOVA_ASYNC_CONCURRENCY at once on a node', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'async-slow',
        runtime: 'node',
        network: 'egress',
        code: Buffer.from(
          `exports.handler = async () => { const base = '${counter.url}'; await fetch(base + '/begin'); await new Promise((r) => setTimeout(r, 300)); await fetch(base + '/end'); return 1; };`,
        ),
      }),
    );
    await counter.resetConcurrency();
    const ids = await Promise.all(Array.from({ length: 6 }, () => fx.dp.invokeAsync(asyncRequest('async-slow'))));
    for (const { invocationId } of ids) await waitForStatus(fx.dp, invocationId, ['succeeded']);
    await counter.refresh();
    assert.equal(counter.maxConcurrent, 2);
    const sync = await fx.dp.invoke(invokeRequest('async-ok', Buffer.from('{"n": 1}')));
    assert.equal(sync.error, '', 'sync calls are served beside them');
  });

  it('refuses bad requests with INVALID_ARGUMENT and unknown functions with NOT_FOUND', async () => {
    await fx.cp.createFunction(createRequest({ name: 'async-refusals' }));
    assert.equal(await codeOf(fx.dp.invokeAsync(asyncRequest('no-such-function'))), status.NOT_FOUND);
    assert.equal(
      await codeOf(fx.dp.listInvocations({ status: 'lost', function: '', limit: 0, offset: 0 })),
      status.INVALID_ARGUMENT,
    );
    assert.equal(await codeOf(fx.dp.invokeAsync(asyncRequest(''))), status.INVALID_ARGUMENT);
    assert.equal(
      await codeOf(fx.dp.invokeAsync(asyncRequest('async-refusals', { maxAttempts: 11 }))),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(fx.dp.invokeAsync(asyncRequest('async-refusals', { maxAttempts: -1 }))),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(fx.dp.invokeAsync(asyncRequest('async-refusals', { backoffBaseMs: 5000, backoffMaxMs: 10 }))),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(fx.dp.invokeAsync(asyncRequest('async-refusals', { idempotencyKey: 'k'.repeat(300) }))),
      status.INVALID_ARGUMENT,
    );
    assert.equal(
      await codeOf(fx.dp.invokeAsync(asyncRequest('async-refusals', { payload: Buffer.alloc(6 * 1024 * 1024 + 1) }))),
      status.INVALID_ARGUMENT,
    );
  });
});

describe('InvokeAsync across processes: exactly once, kill -9, restarts', () => {
  let database: TestDatabase;
  let api: NovaProcess;
  let cp: ReturnType<typeof createControlPlaneClient>;
  let dp: DataPlane;
  const counter = new HitCounter();

  before(async () => {
    await counter.start();
    database = await createTestDatabase();
    // The API process runs no async work itself: workers are separate data-plane processes.
    api = await startNova({ env: { ...database.env, NOVA_ASYNC_CONCURRENCY: '0' } });
    cp = createControlPlaneClient({ address: api.address });
    dp = createDataPlaneClient({ address: api.address });
  });

  after(async () => {
    cp.close();
    dp.close();
    await api.stop();
    await database.dispose();
    counter.stop();
  });

  const worker = (concurrency = '8'): Promise<NovaProcess> =>
    startNova({ env: { ...database.env, NOVA_ASYNC_CONCURRENCY: concurrency }, args: ['--mode', 'dataplane'] });

  it('keeps queued work across a restart', async () => {
    await cp.createFunction(
      createRequest({ name: 'later', code: Buffer.from('def handler(event): return "done later"\n') }),
    );
    const queued = await dp.invokeAsync(asyncRequest('later'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await dp.getInvocation({ id: queued.invocationId })).status, 'queued', 'no worker yet');
    await api.stop();
    api = await startNova({ env: { ...database.env, NOVA_ASYNC_CONCURRENCY: '0' }, port: api.port });
    const workerProcess = await worker();
    try {
      const done = await waitForStatus(dp, queued.invocationId, ['succeeded']);
      assert.equal(Buffer.from(done.output).toString(), '"done later"');
    } finally {
      await workerProcess.stop();
    }
  });

  it('runs 1,000 queued invocations exactly once with two data-plane processes draining together', async () => {
    await cp.createFunction(
      createRequest({
        name: 'drain',
        runtime: 'node',
        network: 'egress',
        code: Buffer.from(
          `exports.handler = async (event, context) => { await fetch('${counter.url}/hit?id=' + context.requestId + '&parent=' + require('os').hostname()); return 1; };`,
        ),
      }),
    );
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const queued = await Promise.all(Array.from({ length: 100 }, () => dp.invokeAsync(asyncRequest('drain'))));
      ids.push(...queued.map((response) => response.invocationId));
    }
    const workers = await Promise.all([worker(), worker()]);
    try {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const page = await dp.listInvocations({ status: '', function: 'drain', limit: 1000, offset: 0 });
        if (page.invocations.every((invocation) => invocation.status === 'succeeded')) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const page = await dp.listInvocations({ status: '', function: 'drain', limit: 1000, offset: 0 });
      assert.equal(page.total, 1000);
      assert.ok(page.invocations.every((invocation) => invocation.status === 'succeeded' && invocation.attempts === 1));
      await counter.refresh();
      for (const id of ids) assert.equal(counter.hits.get(id), 1, `${id} ran ${counter.hits.get(id) ?? 0} times`);
      const byWorker = new Set(ids.map((id) => counter.parents.get(id)));
      assert.equal(byWorker.size, 2, 'both workers took part');
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });

  it('finishes an invocation whose data-plane process was killed with SIGKILL mid-attempt', async () => {
    await cp.createFunction(
      createRequest({
        name: 'survivor',
        timeoutS: 2,
        code: Buffer.from(
          'import time\ndef handler(event, context):\n    time.sleep(1.5)\n    return "attempt " + context.metadata["attempt"]\n',
        ),
      }),
    );
    const doomed = await worker('1');
    const queued = await dp.invokeAsync(asyncRequest('survivor', { maxAttempts: 3, backoffBaseMs: 50 }));
    await waitForStatus(dp, queued.invocationId, ['running']);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const restarted = await worker('1');
    try {
      const done = await waitForStatus(dp, queued.invocationId, ['succeeded'], 30_000);
      assert.equal(Buffer.from(done.output).toString(), '"attempt 2"');
      assert.match(done.attemptHistory[0]?.error ?? '', /^LeaseExpired/);
    } finally {
      await restarted.stop();
    }
  });

  it('sends an invocation of a deleted function to dead letter without retrying', async () => {
    await cp.createFunction(createRequest({ name: 'ephemeral', code: Buffer.from('def handler(e): return 1\n') }));
    const queued = await dp.invokeAsync(asyncRequest('ephemeral', { maxAttempts: 5 }));
    await cp.deleteFunction({ name: 'ephemeral' });
    const workerProcess = await worker();
    try {
      const dead = await waitForStatus(dp, queued.invocationId, ['dead_letter']);
      assert.equal(dead.attempts, 1);
      assert.match(dead.error, /^FunctionNotFound/);
    } finally {
      await workerProcess.stop();
    }
  });
});
