import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { callsOf, useNova } from './support/fixture.js';
import { statusOf } from './support/grpc-status.js';
import { asyncRequest, createRequest, invokeRequest } from './support/requests.js';

describe('nova.v1.DataPlane: invocation history and metrics', () => {
  const fx = useNova({});
  const { create, invoke } = callsOf(fx);

  describe('history and metrics', () => {
    it('records every invocation: ListInvocations and GetMetrics totals match the calls made', async () => {
      await create({
        name: 'py-counted',
        code: Buffer.from(
          'def handler(event):\n    if event == "fail":\n        raise RuntimeError("asked to")\n    return event\n',
        ),
      });
      const payloads = ['"a"', '"b"', '"fail"', '"c"', '"fail"', '"d"', '"e"'];
      const ids: string[] = [];
      for (const payload of payloads) ids.push((await invoke('py-counted', payload)).requestId);
      const page = await fx.dp.listInvocations({ status: '', function: 'py-counted', limit: 0, offset: 0 });
      assert.equal(page.total, payloads.length);
      assert.deepEqual(
        page.invocations.map((inv) => inv.id),
        [...ids].reverse(),
        'newest first',
      );
      assert.deepEqual(
        page.invocations.map((inv) => inv.success).reverse(),
        payloads.map((p) => p !== '"fail"'),
      );
      assert.equal(page.invocations.filter((inv) => inv.coldStart).length, 1);
      for (const inv of page.invocations) {
        assert.equal(inv.functionName, 'py-counted');
        assert.equal(inv.log, '', 'listings leave logs out');
        assert.ok(Date.parse(inv.createdAt) > Date.now() - 60_000);
      }
      const paged = await fx.dp.listInvocations({ status: '', function: 'py-counted', limit: 2, offset: 2 });
      assert.deepEqual(
        paged.invocations.map((inv) => inv.id),
        [ids[4], ids[3]],
      );
      assert.equal(paged.total, payloads.length);

      const metrics = await fx.dp.getMetrics({ function: 'py-counted', rangeSeconds: 0 });
      assert.equal(metrics.totalInvocations, 7);
      assert.equal(metrics.successfulInvocations, 5);
      assert.equal(metrics.failedInvocations, 2);
      assert.ok(metrics.p50DurationMs <= metrics.p95DurationMs && metrics.p95DurationMs <= metrics.p99DurationMs);
      assert.ok(metrics.avgDurationMs >= 0);
      // Calls of another function: the unfiltered listing counts them too.
      await create({ name: 'py-counted-other' });
      for (let i = 0; i < 10; i++) await invoke('py-counted-other');
      const all = await fx.dp.listInvocations({ status: '', function: '', limit: 1000, offset: 0 });
      assert.ok(all.total >= page.total + 10);
    });

    it('answers NOT_FOUND for an unknown invocation or function, INVALID_ARGUMENT for bad ranges', async () => {
      assert.equal((await statusOf(fx.dp.getInvocation({ id: 'no-such-id' }))).code, status.NOT_FOUND);
      assert.equal((await statusOf(fx.dp.getMetrics({ function: 'nobody', rangeSeconds: 0 }))).code, status.NOT_FOUND);
      assert.equal(
        (await statusOf(fx.dp.getMetrics({ function: '', rangeSeconds: -1 }))).code,
        status.INVALID_ARGUMENT,
      );
      assert.equal(
        (await statusOf(fx.dp.listInvocations({ status: '', function: '', limit: 5000, offset: 0 }))).code,
        status.INVALID_ARGUMENT,
      );
    });
  });
});

describe('nova.v1.DataPlane: invocation ids (issue 9)', () => {
  const fx = useNova();

  it('gives every invocation its own id and keeps a reused x-request-id as its correlation id', async () => {
    await fx.cp.createFunction(createRequest({ name: 'py-reused-id' }));
    const call = invokeRequest('py-reused-id', Buffer.from('{}'));
    const first = await fx.dp.invoke(call, { metadata: { 'x-request-id': 'order-42' } });
    const second = await fx.dp.invoke(call, { metadata: { 'x-request-id': 'order-42' } });
    assert.notEqual(first.requestId, second.requestId);
    const page = await fx.dp.listInvocations({ status: '', function: 'py-reused-id', limit: 0, offset: 0 });
    assert.equal(page.total, 2, 'neither call vanished from history');
    assert.deepEqual(
      page.invocations.map((inv) => [inv.id, inv.correlationId, inv.kind]),
      [
        [second.requestId, 'order-42', 'sync'],
        [first.requestId, 'order-42', 'sync'],
      ],
    );
  });

  it('records streaming calls as kind "stream" and async ones as "async"', async () => {
    await fx.cp.createFunction(createRequest({ name: 'py-kinds' }));
    const chunks = [];
    for await (const chunk of fx.dp.invokeStream(invokeRequest('py-kinds', Buffer.from('{}')), {
      metadata: { 'x-request-id': 'streamed-1' },
    })) {
      chunks.push(chunk);
    }
    const streamedId = chunks.at(-1)?.requestId ?? '';
    const streamed = await fx.dp.getInvocation({ id: streamedId });
    assert.equal(streamed.kind, 'stream');
    assert.equal(streamed.correlationId, 'streamed-1');
    const queued = await fx.dp.invokeAsync(asyncRequest('py-kinds'), { metadata: { 'x-request-id': 'queued-1' } });
    const stored = await fx.dp.getInvocation({ id: queued.invocationId });
    assert.equal(stored.kind, 'async');
    assert.equal(stored.correlationId, 'queued-1');
  });
});
