import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useNova } from './support/fixture.js';
import { asyncRequest, createRequest, invokeRequest } from './support/requests.js';
import { waitUntil } from './support/wait.js';

describe('request ids in logs', () => {
  const nova = useNova({ NOVA_LOG_LEVEL: 'debug', NOVA_LOG_CALL_CONTEXT: 'on' });

  it('puts the call’s request id on every line written while serving it, not only on the call line', async () => {
    await nova.cp.createFunction(createRequest({ name: 'log-trace' }));
    await nova.dp.invoke(invokeRequest('log-trace', Buffer.from('{}')), { metadata: { 'x-request-id': 'trace-me-1' } });
    const traced = (): Record<string, unknown>[] =>
      nova.nova.logLines().filter((line) => line['requestId'] === 'trace-me-1');
    await waitUntil('the call line', () => traced().some((line) => line['msg'] === 'call'), 2000);
    // The cold start's own line, written by the pool deep inside the call.
    const started = traced().find((line) => line['msg'] === 'instance started');
    assert.equal(started?.['function'], 'log-trace');
    // Background work the call did not own (the batched history write) has no call's id.
    assert.ok(!nova.nova.logLines().some((line) => line['component'] === 'batch-writer' && line['requestId']));
  });

  it('puts an async invocation’s id on the lines its attempts write', async () => {
    await nova.cp.createFunction(createRequest({ name: 'log-trace-async' }));
    const queued = await nova.dp.invokeAsync(asyncRequest('log-trace-async', { maxAttempts: 1 }));
    await waitUntil(
      'the attempt’s cold start line',
      () =>
        nova.nova
          .logLines()
          .some((line) => line['msg'] === 'instance started' && line['requestId'] === queued.invocationId),
      20_000,
    );
  });
});

describe('request ids in logs, turned off', () => {
  const nova = useNova({ NOVA_LOG_LEVEL: 'debug', NOVA_LOG_CALL_CONTEXT: 'off' });

  it('keeps the id on the call line only (NOVA_LOG_CALL_CONTEXT=off)', async () => {
    await nova.cp.createFunction(createRequest({ name: 'log-untraced' }));
    await nova.dp.invoke(invokeRequest('log-untraced', Buffer.from('{}')), {
      metadata: { 'x-request-id': 'untraced-1' },
    });
    const lines = (): Record<string, unknown>[] => nova.nova.logLines();
    await waitUntil('the call line', () => lines().some((line) => line['requestId'] === 'untraced-1'), 2000);
    const started = lines().find((line) => line['msg'] === 'instance started' && line['function'] === 'log-untraced');
    assert.ok(started, 'the cold start was logged');
    assert.equal(started['requestId'], undefined);
  });
});
