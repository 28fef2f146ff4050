import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { controlPlane, dataPlane } from '#proto';
import { callsOf, outputJson, useNova } from './support/fixture.js';
import { updateRequest } from './support/requests.js';
import { statusOf } from './support/grpc-status.js';
import { runCli } from './support/nova-process.js';

/**
 * A Node handler that waits `ms` (an async handler blocked on I/O), logging
 * before and after, optionally allocating 1 GiB of buffers first; it
 * answers with its instance's id and when it ran, by the instance's clock.
 */
const slowNode = Buffer.from(`
const INSTANCE = Math.random().toString(36).slice(2);
exports.handler = async (event) => {
  const started = Date.now();
  console.log('start ' + event.id);
  if (event.hog) { const a = []; for (let i = 0; i < 1024; i++) a.push(Buffer.alloc(1024 * 1024, 1)); }
  await new Promise((resolve) => setTimeout(resolve, event.ms));
  console.log('end ' + event.id);
  return { id: event.id, instance: INSTANCE, started, ended: Date.now() };
};
`);

interface Ran {
  id: number;
  instance: string;
  started: number;
  ended: number;
}

describe('per-function concurrency: one Node instance serves several calls at once', () => {
  const fx = useNova({});
  const { create, invoke } = callsOf(fx);
  const call = (fn: string, event: object): Promise<dataPlane.InvokeResponse> =>
    invoke(fn, JSON.stringify(event), { includeLog: true });
  /** One instance of slowNode with four call slots, started by a first call so later calls meet it warm. */
  const createShared = async (name: string, overrides: Partial<controlPlane.CreateFunctionRequest> = {}) => {
    await create({ name, runtime: 'node', concurrency: 4, maxReplicas: 1, code: slowNode, ...overrides });
    assert.equal((await call(name, { id: 0, ms: 0 })).error, '');
  };

  it('overlaps calls in one instance up to its concurrency, each with its own log, and queues the next', async () => {
    await createShared('node-overlap');
    const responses = await Promise.all([1, 2, 3, 4, 5].map((id) => call('node-overlap', { id, ms: 400 })));
    for (const response of responses) assert.equal(response.error, '');
    const ran = responses.map((response) => outputJson(response) as Ran);
    assert.equal(new Set(ran.map((run) => run.instance)).size, 1, 'max_replicas 1: one instance served all');
    assert.ok(responses.every((response) => !response.coldStart));
    // Four at once: all four had started before any ended. The fifth waited for a slot.
    const byStart = [...ran].sort((a, b) => a.started - b.started);
    const firstFour = byStart.slice(0, 4);
    const fifth = byStart[4]!;
    assert.ok(
      Math.max(...firstFour.map((run) => run.started)) < Math.min(...firstFour.map((run) => run.ended)),
      `calls overlapped: ${JSON.stringify(firstFour)}`,
    );
    assert.ok(
      fifth.started >= Math.min(...firstFour.map((run) => run.ended)),
      `the fifth call started when a slot was free: ${JSON.stringify(byStart)}`,
    );
    // Output printed while other calls ran is each call's own.
    for (const response of responses) {
      const { id } = outputJson(response) as Ran;
      assert.equal(response.log, `start ${id}\nend ${id}\n`);
    }
  });

  it('times out a call on its own deadline; the calls sharing its instance end with it and say why', async () => {
    await createShared('node-overlap-timeout', { timeoutS: 1 });
    const started = Date.now();
    const [late, quick, sharing] = await Promise.all([
      statusOf(call('node-overlap-timeout', { id: 1, ms: 8000 })).then((result) => ({ ...result, at: Date.now() })),
      call('node-overlap-timeout', { id: 2, ms: 50 }),
      // Started later, so its own second has not passed when the first call's has.
      new Promise((resolve) => setTimeout(resolve, 500)).then(() => call('node-overlap-timeout', { id: 3, ms: 8000 })),
    ]);
    assert.equal(late.code, status.DEADLINE_EXCEEDED, late.details);
    assert.ok(
      late.at - started < 4000,
      `the late call ended at its 1 s timeout, not its 8 s sleep (${late.at - started} ms)`,
    );
    assert.equal(quick.error, '', 'a call that ended before the timeout is unaffected');
    assert.match(sharing.error, /another call on it ran past its timeout/);
    const after = await call('node-overlap-timeout', { id: 4, ms: 0 });
    assert.equal(after.error, '');
    assert.equal(after.coldStart, true, 'a new instance took over');
  });

  it('holds the memory limit over the calls of one instance together', async () => {
    await createShared('node-overlap-hog', { memoryMb: 128 });
    const waiting = statusOf(call('node-overlap-hog', { id: 1, ms: 5000 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const [hog, sharing] = await Promise.all([
      statusOf(call('node-overlap-hog', { id: 2, ms: 0, hog: true })),
      waiting,
    ]);
    assert.equal(hog.code, status.RESOURCE_EXHAUSTED, hog.details);
    assert.match(hog.details, /memory limit of 128 MiB/);
    assert.equal(sharing.code, status.RESOURCE_EXHAUSTED, sharing.details);
    assert.equal((await call('node-overlap-hog', { id: 3, ms: 0 })).error, '');
  });

  it('checks concurrency: 1 to 100, above 1 only for node, 0 is the default', async () => {
    const created = await create({ name: 'node-default-concurrency', runtime: 'node', code: slowNode });
    assert.equal(created.concurrency, 1);
    for (const [overrides, pattern] of [
      [
        { name: 'py-concurrent', concurrency: 2 },
        /concurrency: 2 is for runtimes whose instances serve calls at once \(node\)/,
      ],
      [
        { name: 'node-too-concurrent', runtime: 'node', code: slowNode, concurrency: 101 },
        /concurrency: must be 1 to 100/,
      ],
      [{ name: 'node-negative', runtime: 'node', code: slowNode, concurrency: -1 }, /concurrency: must be 1 to 100/],
    ] as const) {
      const refused = await statusOf(create(overrides));
      assert.equal(refused.code, status.INVALID_ARGUMENT, overrides.name);
      assert.match(refused.details, pattern);
    }
    const raised = await fx.cp.updateFunction(updateRequest('node-default-concurrency', { concurrency: 8 }));
    assert.equal(raised.concurrency, 8);
    assert.equal((await fx.cp.getFunction({ name: 'node-default-concurrency' })).concurrency, 8);
    const untouched = await fx.cp.updateFunction(updateRequest('node-default-concurrency', { memoryMb: 256 }));
    assert.equal(untouched.concurrency, 8, 'an update that leaves it out keeps it');
    const reset = await fx.cp.updateFunction(
      updateRequest('node-default-concurrency', { updateMask: ['concurrency'] }),
    );
    assert.equal(reset.concurrency, 1, 'named in update_mask with 0: back to the default');
    await create({ name: 'py-single' });
    const pyRefused = await statusOf(fx.cp.updateFunction(updateRequest('py-single', { concurrency: 4 })));
    assert.equal(pyRefused.code, status.INVALID_ARGUMENT);
  });

  it('is set and shown by the CLI', async () => {
    const env = { NOVA_ADDR: fx.nova.address };
    const codeFile = join(fx.database.dataDir, 'concurrent.js');
    await writeFile(codeFile, slowNode);
    const args = ['functions', 'create', 'node-cli-concurrent', '--runtime', 'node', '--handler', 'handler'];
    const created = await runCli([...args, '--code', codeFile, '--concurrency', '16'], env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^concurrency: +16$/m);
    const updated = await runCli(['functions', 'update', 'node-cli-concurrent', '--concurrency', '2', '--json'], env);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal((JSON.parse(updated.stdout) as { concurrency: number }).concurrency, 2);
    const refused = await runCli(['functions', 'update', 'node-cli-concurrent', '--concurrency', '0'], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--concurrency must be at least 1/);
  });
});
