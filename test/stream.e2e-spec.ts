import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { dataPlane } from '#proto';
import { useNova } from './support/fixture.js';
import { waitUntil } from './support/wait.js';
import { createRequest } from './support/requests.js';
import { hostPidOf, pythonInstanceMarker } from './support/instances.js';

describe('InvokeStream', () => {
  const fx = useNova();

  const request = (fn: string, overrides: Partial<dataPlane.InvokeRequest> = {}): dataPlane.InvokeRequest => ({
    function: fn,
    payload: Buffer.from('{}'),
    timeoutS: 0,
    metadata: {},
    version: 0,
    includeLog: false,
    ...overrides,
  });

  it('streams each item of a Python generator as it is yielded, in order', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'py-gen',
        code: Buffer.from(
          'import time\ndef handler(event):\n    for i in range(4):\n        yield {"i": i}\n        time.sleep(0.25)\n',
        ),
      }),
    );
    const started = Date.now();
    const arrivals: { at: number; chunk: dataPlane.InvokeStreamChunk }[] = [];
    for await (const chunk of fx.dp.invokeStream(request('py-gen'))) arrivals.push({ at: Date.now() - started, chunk });
    const data = arrivals
      .filter((a) => !a.chunk.final)
      .map((a) => JSON.parse(Buffer.from(a.chunk.data).toString()) as unknown);
    assert.deepEqual(data, [{ i: 0 }, { i: 1 }, { i: 2 }, { i: 3 }]);
    const last = arrivals.at(-1)!;
    assert.equal(last.chunk.final, true);
    assert.equal(last.chunk.error, '');
    assert.ok(last.at >= 1000, `the handler ran ${last.at} ms`);
    assert.ok(
      arrivals[0]!.at < last.at - 600,
      `the first chunk came at ${arrivals[0]!.at} ms, before the handler finished`,
    );
    assert.ok(arrivals.every((a) => a.chunk.requestId === arrivals[0]!.chunk.requestId));
  });

  it('streams a Node async generator, and an ordinary handler as one chunk', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'node-gen',
        runtime: 'node',
        code: Buffer.from(
          'exports.handler = async function* (event) { for (const word of event.words) { yield word; await new Promise((r) => setTimeout(r, 50)); } };',
        ),
      }),
    );
    const words: string[] = [];
    for await (const chunk of fx.dp.invokeStream(
      request('node-gen', { payload: Buffer.from('{"words": ["a", "b", "c"]}') }),
    )) {
      if (!chunk.final) words.push(JSON.parse(Buffer.from(chunk.data).toString()) as string);
    }
    assert.deepEqual(words, ['a', 'b', 'c']);
    await fx.cp.createFunction(
      createRequest({ name: 'plain', code: Buffer.from('def handler(event): return "whole"\n') }),
    );
    const chunks: dataPlane.InvokeStreamChunk[] = [];
    for await (const chunk of fx.dp.invokeStream(request('plain'))) chunks.push(chunk);
    assert.deepEqual(
      chunks.map((chunk) => [Buffer.from(chunk.data).toString(), chunk.final]),
      [
        ['"whole"', false],
        ['', true],
      ],
    );
    const invoked = await fx.dp.invoke(request('node-gen', { payload: Buffer.from('{"words": ["x", "y"]}') }));
    assert.equal(Buffer.from(invoked.output).toString(), '["x","y"]', 'Invoke collects a generator into a list');
  });

  it('ends with the handler error on the final chunk', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'gen-fails',
        code: Buffer.from('def handler(event):\n    yield 1\n    raise KeyError("gone")\n'),
      }),
    );
    const chunks: dataPlane.InvokeStreamChunk[] = [];
    for await (const chunk of fx.dp.invokeStream(request('gen-fails'))) chunks.push(chunk);
    assert.equal(Buffer.from(chunks[0]!.data).toString(), '1');
    assert.equal(chunks.at(-1)?.final, true);
    assert.equal(chunks.at(-1)?.error, "KeyError: 'gone'");
  });

  it('stops the handler when the client cancels, and serves the next call', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'endless',
        code: Buffer.from(
          pythonInstanceMarker +
            'import time\ndef handler(event):\n    while True:\n        yield MARKER\n        time.sleep(0.1)\n',
        ),
      }),
    );
    const stream = fx.dp.invokeStream(request('endless'));
    let marker = '';
    let pid: number | undefined;
    let requestId = '';
    for await (const chunk of stream) {
      marker = JSON.parse(Buffer.from(chunk.data).toString()) as string;
      pid = hostPidOf(marker);
      requestId = chunk.requestId;
      stream.cancel();
      break;
    }
    assert.ok(pid !== undefined && pid > 0, 'the instance process is found on the host');
    const deadline = Date.now() + 3000;
    let alive = true;
    while (alive && Date.now() < deadline) {
      try {
        readFileSync(`/proc/${pid}/stat`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, 'the instance running the cancelled stream was stopped');
    // The record is written once the attempt has wound down, a moment after the process is gone.
    let recorded: dataPlane.InvocationLog | undefined;
    await waitUntil('the cancelled stream recorded', async () => {
      recorded = await fx.dp.getInvocation({ id: requestId }).catch(() => undefined);
      return recorded !== undefined;
    });
    assert.equal(recorded?.error, 'Cancelled: the client cancelled the stream');
    const next = fx.dp.invokeStream(request('endless'));
    for await (const chunk of next) {
      assert.notEqual(JSON.parse(Buffer.from(chunk.data).toString()), marker, 'a new instance serves the next call');
      next.cancel();
      break;
    }
  });

  it('applies the timeout to the whole stream', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'slow-stream',
        timeoutS: 1,
        code: Buffer.from(
          'import time\ndef handler(event):\n    while True:\n        yield 1\n        time.sleep(0.2)\n',
        ),
      }),
    );
    const started = Date.now();
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of fx.dp.invokeStream(request('slow-stream'))) if (!chunk.final) received += 1;
      })(),
      (error: { code?: number }) => error.code === status.DEADLINE_EXCEEDED,
    );
    assert.ok(received >= 2, `${received} chunks before the deadline`);
    assert.ok(Date.now() - started < 2500);
  });

  it('answers NOT_FOUND for an unknown function', async () => {
    await assert.rejects(
      (async () => {
        for await (const chunk of fx.dp.invokeStream(request('nobody'))) void chunk;
      })(),
      (error: { code?: number }) => error.code === status.NOT_FOUND,
    );
  });
});
