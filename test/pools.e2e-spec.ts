import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { dataPlane } from '#proto';
import { callsOf, outputJson, useNova } from './support/fixture.js';
import { createRequest, updateRequest, invokeRequest } from './support/requests.js';
import { statusOf } from './support/grpc-status.js';
import { hostPidOf, pythonInstanceMarker } from './support/instances.js';

describe('nova.v1.DataPlane: instance pools', () => {
  const fx = useNova({});
  const { create, invoke } = callsOf(fx);

  describe('pools', () => {
    it('runs 20 parallel calls on at most max_replicas instances, all succeeding', async () => {
      await create({
        name: 'py-parallel',
        maxReplicas: 3,
        code: Buffer.from(
          pythonInstanceMarker + 'import time\ndef handler(event):\n    time.sleep(0.1)\n    return MARKER\n',
        ),
      });
      const responses = await Promise.all(Array.from({ length: 20 }, () => invoke('py-parallel')));
      assert.ok(responses.every((response) => response.error === ''));
      const pids = new Set(responses.map((response) => outputJson(response)));
      assert.ok(pids.size <= 3, `${pids.size} instances`);
      assert.ok(pids.size >= 2, 'calls did run in parallel');
      assert.equal(responses.filter((response) => response.coldStart).length, pids.size, 'one cold start per instance');
    });

    it('switches to a new code version without failing a call', async () => {
      await create({ name: 'py-rolling', code: Buffer.from('def handler(event): return 1\n') });
      let stop = false;
      const seen: unknown[] = [];
      const failures: string[] = [];
      const caller = (async () => {
        while (!stop) {
          try {
            const response = await invoke('py-rolling');
            if (response.error) failures.push(response.error);
            else seen.push(outputJson(response));
          } catch (error) {
            failures.push(String(error));
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await fx.cp.updateFunctionCode({
        name: 'py-rolling',
        code: Buffer.from('def handler(event): return 2\n'),
        handler: '',
      });
      const deadline = Date.now() + 5000;
      while (seen.at(-1) !== 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 100));
      stop = true;
      await caller;
      assert.deepEqual(failures, []);
      assert.equal(seen[0], 1);
      assert.equal(seen.at(-1), 2);
      const firstTwo = seen.indexOf(2);
      assert.ok(
        seen.slice(firstTwo).every((value) => value === 2),
        'no call went to the old version after the switch',
      );
      const detail = await fx.dp.listInvocations({ status: '', function: 'py-rolling', limit: 1, offset: 0 });
      assert.equal(detail.invocations[0]?.version, 2);
    });

    it('pre-warms min_replicas so that the first call is warm, and after an update', async () => {
      /** Waits until the node has `count` more idle instances than it had before. */
      const idle = async (): Promise<number> =>
        Number(/(\d+) idle/.exec((await fx.dp.health({})).components['instances'] ?? '')?.[1] ?? -1);
      const waitForIdle = async (atLeast: number): Promise<void> => {
        const deadline = Date.now() + 10_000;
        while ((await idle()) < atLeast && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 25));
      };
      const before = await idle();
      await create({ name: 'py-prewarmed', minReplicas: 1, code: Buffer.from('def handler(event): return "ready"\n') });
      await waitForIdle(before + 1);
      const first = await invoke('py-prewarmed');
      assert.equal(first.coldStart, false, 'pre-warmed');
      await fx.cp.updateFunction(updateRequest('py-prewarmed', { envVars: { V: '2' } }));
      // The old instance stops and a new one starts: wait for the new revision's instance.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await waitForIdle(before + 1);
      assert.equal((await invoke('py-prewarmed')).coldStart, false, 'pre-warmed again after the update');
    });

    it('applies new settings with new instances', async () => {
      await create({
        name: 'py-settings',
        envVars: { LEVEL: 'one' },
        code: Buffer.from('import os\ndef handler(event): return os.environ["LEVEL"]\n'),
      });
      assert.equal(outputJson(await invoke('py-settings')), 'one');
      await fx.cp.updateFunction(updateRequest('py-settings', { envVars: { LEVEL: 'two' } }));
      const deadline = Date.now() + 3000;
      let value: unknown = 'one';
      while (value !== 'two' && Date.now() < deadline) value = outputJson(await invoke('py-settings'));
      assert.equal(value, 'two');
    });
  });
});

describe('nova.v1.DataPlane: idle reaping and the queue', () => {
  const fx = useNova({ NOVA_IDLE_TTL_S: '1', NOVA_QUEUE_LIMIT: '2' });

  it('stops instances idle for longer than the idle TTL', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'reaped',
        code: Buffer.from(pythonInstanceMarker + 'def handler(event): return MARKER\n'),
      }),
    );
    const invoke = (): Promise<dataPlane.InvokeResponse> => fx.dp.invoke(invokeRequest('reaped', Buffer.alloc(0)));
    const first = await invoke();
    const warm = await invoke();
    assert.equal(warm.coldStart, false);
    const marker = JSON.parse(Buffer.from(first.output).toString()) as string;
    assert.ok(hostPidOf(marker), 'the instance process is found while it lives');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(hostPidOf(marker), undefined, 'the idle instance process is gone');
    const later = await invoke();
    assert.equal(later.coldStart, true);
  });

  it('queues calls past max_replicas and refuses them with RESOURCE_EXHAUSTED when the queue is full', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'narrow',
        maxReplicas: 1,
        code: Buffer.from('import time\ndef handler(event):\n    time.sleep(0.3)\n    return 1\n'),
      }),
    );
    const results = await Promise.all(
      Array.from({ length: 6 }, () => statusOf(fx.dp.invoke(invokeRequest('narrow', Buffer.alloc(0))))),
    );
    const ok = results.filter((result) => result.code === status.OK).length;
    const refused = results.filter((result) => result.code === status.RESOURCE_EXHAUSTED);
    assert.equal(ok, 3, 'one running and two queued');
    assert.equal(refused.length, 3);
    assert.match(refused[0]?.details ?? '', /all 1 instances are busy and 2 calls are already waiting/);
  });
});
