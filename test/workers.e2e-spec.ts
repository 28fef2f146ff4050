import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Nova } from '#client';
import { createTestDatabase, startNova } from './support/nova-process.js';
import { helloPython } from './support/requests.js';
import { waitUntil } from './support/wait.js';

/** Pids of the processes started with NOVA_WORKER_SETTINGS naming this node id. */
function workerPids(nodeId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.includes('NOVA_WORKER_SETTINGS=') && environ.includes(`"nodeId":"${nodeId}"`))
        pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

// Issue 11, item 2: `--workers N` runs N data-plane processes on one host, each a node on its own port.
describe('nova daemon --workers 2 (unified)', () => {
  it('runs two data-plane workers behind its own port, starts a killed one again and stops them with itself', async () => {
    const database = await createTestDatabase();
    const daemon = await startNova({ env: { ...database.env, NOVA_WORKERS: '2', NOVA_HEARTBEAT_MS: '250' } });
    const nova = new Nova({ address: daemon.address });
    try {
      const ids = [`vm:${daemon.port}-w1`, `vm:${daemon.port}-w2`].map((id) => id.replace('vm', hostnameOf()));
      await waitUntil(
        'both workers registered',
        async () => {
          const nodes = await nova.listNodes({ plane: 'data-plane', status: 'live' });
          return nodes.length === 2;
        },
        20_000,
      );
      const nodes = await nova.listNodes({ plane: 'data-plane' });
      assert.deepEqual(
        nodes.map((node) => [node.id, node.address]),
        ids.map((id, i) => [id, `127.0.0.1:${daemon.port + i + 1}`]),
      );
      assert.ok(
        nodes.every((node) => node.capacity === 100),
        'each worker has half the host budget (200)',
      );

      await nova.createFunction({ name: 'on-a-worker', runtime: 'python', handler: 'handler', code: helloPython });
      assert.deepEqual(JSON.parse(Buffer.from((await nova.invoke('on-a-worker')).output).toString()), {
        message: 'hello',
      });

      const [victim] = workerPids(ids[0]!);
      assert.ok(victim, 'worker 1 runs as its own process');
      const before = (await nova.getNode(ids[0]!)).startedAt;
      process.kill(victim, 'SIGKILL');
      await waitUntil(
        'worker 1 started again',
        async () => {
          const node = await nova.getNode(ids[0]!).catch(() => undefined);
          return node !== undefined && node.startedAt !== before && node.status === 'live';
        },
        20_000,
      );
      assert.equal((await nova.invoke('on-a-worker')).error, '');
    } finally {
      nova.close();
      assert.equal(await daemon.stop(), 0, 'exits cleanly');
      await database.dispose();
    }
    assert.deepEqual(workerPids(`${hostnameOf()}:${daemon.port}-w1`), [], 'no worker outlives the daemon');
    assert.deepEqual(workerPids(`${hostnameOf()}:${daemon.port}-w2`), []);
  });
});

function hostnameOf(): string {
  return readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
}
