import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createControlPlaneClient, createDataPlaneClient } from '#proto';
import { EmbeddedPostgres } from '#storage';
import { statusOf } from './support/grpc-status.js';
import { freePort, startNova, type NovaProcess } from './support/nova-process.js';
import { checkHealth, healthClient } from './support/raw-grpc.js';
import { asyncRequest, createRequest, invokeRequest } from './support/requests.js';
import { waitUntil } from './support/wait.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every status a stream of health updates went through, and a way to wait for one. */
function watchHealth(address: string): { statuses: string[]; until(status: string): Promise<void>; stop(): void } {
  const client = healthClient(address);
  const statuses: string[] = [];
  const waiters: { status: string; resolve: () => void }[] = [];
  const watch = client.Watch({ service: '' });
  watch.on('data', (update: { status: string }) => {
    statuses.push(update.status);
    for (const waiter of waiters.filter((w) => w.status === update.status)) waiter.resolve();
  });
  watch.on('error', () => undefined);
  return {
    statuses,
    until: (wanted) =>
      statuses.slice(1).includes(wanted)
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ status: wanted, resolve })),
    stop() {
      watch.cancel();
      client.close();
    },
  };
}

function isRunning(nova: NovaProcess): boolean {
  return nova.child.exitCode === null && nova.child.signalCode === null;
}

describe('database loss: the node survives, says so, and recovers', () => {
  it('an embedded PostgreSQL killed under load is restarted; calls see OK or UNAVAILABLE, nothing is lost', async () => {
    // Always the embedded server: this is about Nova owning it.
    const dataDir = await mkdtemp(join(tmpdir(), 'nova-test-'));
    const nova = await startNova({ env: { NOVA_DATA_DIR: dataDir } });
    const cp = createControlPlaneClient({ address: nova.address });
    const dp = createDataPlaneClient({ address: nova.address });
    const health = watchHealth(nova.address);
    try {
      await cp.createFunction(createRequest({ name: 'steady' }));
      const invoke = () => dp.invoke(invokeRequest('steady', Buffer.from('{}')));
      await invoke();

      const codes = new Map<status, number>();
      let succeededInvokes = 1;
      let loading = true;
      const worker = async (): Promise<void> => {
        while (loading) {
          const [invoked, listed] = await Promise.all([
            statusOf(invoke().then(() => (succeededInvokes += 1))),
            statusOf(cp.listFunctions({ limit: 10, offset: 0 })),
          ]);
          for (const { code } of [invoked, listed]) codes.set(code, (codes.get(code) ?? 0) + 1);
          await sleep(20);
        }
      };
      const workers = [worker(), worker(), worker()];
      await sleep(500);

      const postmasterFile = join(dataDir, 'postgres', 'postmaster.pid');
      const killedPid = Number((await readFile(postmasterFile, 'utf8')).split('\n')[0]);
      process.kill(killedPid, 'SIGKILL');

      await health.until('NOT_SERVING');
      await health.until('SERVING');
      await sleep(500);
      loading = false;
      await Promise.all(workers);

      assert.ok(isRunning(nova), 'the node is still running');
      const newPid = Number((await readFile(postmasterFile, 'utf8')).split('\n')[0]);
      assert.notEqual(newPid, killedPid, 'a new postmaster runs');
      const seen = [...codes.keys()].sort();
      assert.ok(
        seen.every((code) => code === status.OK || code === status.UNAVAILABLE),
        `only OK and UNAVAILABLE, saw ${JSON.stringify(Object.fromEntries(codes))}`,
      );
      assert.deepEqual(health.statuses.slice(0, 3), ['SERVING', 'NOT_SERVING', 'SERVING']);

      // Recovered: control plane, data plane and the invocation records all work again.
      assert.equal((await cp.listFunctions({ limit: 10, offset: 0 })).functions[0]?.name, 'steady');
      assert.equal((await dp.health({})).status, 'healthy');
      const queued = await dp.invokeAsync(asyncRequest('steady', { maxAttempts: 1 }));
      await waitUntil('the async call to run', async () => {
        return (await dp.getInvocation({ id: queued.invocationId })).status === 'succeeded';
      });
      // Every successful synchronous call was recorded, the ones during the outage included.
      await waitUntil('all invocation records to be written', async () => {
        const page = await dp.listInvocations({ function: 'steady', status: '', limit: 1, offset: 0 });
        return page.total === succeededInvokes + 1;
      });
      const lines = nova.logLines();
      assert.ok(lines.some((line) => String(line['msg']).startsWith('embedded PostgreSQL exited unexpectedly')));
      assert.ok(lines.some((line) => String(line['msg']).startsWith('database reachable again')));
    } finally {
      health.stop();
      cp.close();
      dp.close();
      await nova.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('while a database of its own is down: NOT_SERVING, UNAVAILABLE never INTERNAL, few log lines; back on its own', async () => {
    const postgresDir = await mkdtemp(join(tmpdir(), 'nova-test-pg-'));
    const dataDir = await mkdtemp(join(tmpdir(), 'nova-test-'));
    const port = await freePort();
    const quiet = (): void => undefined;
    let postgres = await EmbeddedPostgres.start({ dataDir: postgresDir, log: quiet, port });
    const nova = await startNova({ env: { DATABASE_URL: postgres.url, NOVA_DATA_DIR: dataDir } });
    const cp = createControlPlaneClient({ address: nova.address });
    const dp = createDataPlaneClient({ address: nova.address });
    try {
      await cp.createFunction(createRequest({ name: 'cached' }));
      const invoke = () => dp.invoke(invokeRequest('cached', Buffer.from('{}')));
      await invoke();

      await postgres.stop();
      await waitUntil('NOT_SERVING', async () => (await checkHealth(nova.address)).status === 'NOT_SERVING', 10_000);
      const linesBefore = nova.logLines().length;

      const nodeHealth = await dp.health({});
      assert.equal(nodeHealth.status, 'unhealthy');
      assert.match(nodeHealth.components['database'] ?? '', /^error: unreachable/);

      // Each wrapped in statusOf at once: the calls run together.
      const calls = {
        listFunctions: statusOf(cp.listFunctions({ limit: 10, offset: 0 })),
        getFunction: statusOf(cp.getFunction({ name: 'cached' })),
        createFunction: statusOf(cp.createFunction(createRequest({ name: 'during-outage' }))),
        invokeAsync: statusOf(dp.invokeAsync(asyncRequest('cached', { maxAttempts: 1 }))),
        listInvocations: statusOf(dp.listInvocations({ function: 'cached', status: '', limit: 10, offset: 0 })),
        getMetrics: statusOf(dp.getMetrics({ function: 'cached', rangeSeconds: 60 })),
        invokeUnknownFunction: statusOf(dp.invoke(invokeRequest('not-cached', Buffer.from('{}')))),
      };
      for (const [name, call] of Object.entries(calls)) {
        const { code, details } = await call;
        assert.equal(code, status.UNAVAILABLE, `${name}: ${details}`);
        assert.match(details, /database is unreachable/);
      }
      // A warm function needs no database to run: its definition is cached
      // and its record waits in memory.
      const duringOutage = await invoke();
      assert.equal(duringOutage.error, '');

      // Five seconds of outage with the async worker polling and the
      // listener reconnecting: a handful of lines, not a flood.
      await sleep(5000);
      assert.ok(isRunning(nova));
      const outageLines = nova.logLines().length - linesBefore;
      assert.ok(outageLines < 25, `wrote ${outageLines} log lines in 5 s of outage`);
      assert.equal((await checkHealth(nova.address)).status, 'NOT_SERVING');

      postgres = await EmbeddedPostgres.start({ dataDir: postgresDir, log: quiet, port });
      await waitUntil('SERVING again', async () => (await checkHealth(nova.address)).status === 'SERVING');
      assert.equal((await dp.health({})).status, 'healthy');
      assert.equal((await cp.getFunction({ name: 'cached' })).name, 'cached');
      await waitUntil('the call made during the outage to be recorded', async () => {
        const page = await dp.listInvocations({ function: 'cached', status: '', limit: 10, offset: 0 });
        return page.total === 2;
      });
    } finally {
      cp.close();
      dp.close();
      await nova.stop();
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
      await rm(postgresDir, { recursive: true, force: true });
    }
  });
});
