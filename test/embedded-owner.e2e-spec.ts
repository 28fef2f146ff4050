import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createControlPlaneClient, createDataPlaneClient } from '#proto';
import { isProcessAlive } from '#storage';
import { statusOf } from './support/grpc-status.js';
import { createTestDatabase, startNova, type NovaProcess } from './support/nova-process.js';
import { checkHealth } from './support/raw-grpc.js';
import { createRequest, invokeRequest } from './support/requests.js';
import { waitUntil } from './support/wait.js';

/** The pid of the embedded PostgreSQL's postmaster on a data dir, from postmaster.pid; undefined when none runs. */
async function postmasterOf(dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]);
  return pid && isProcessAlive(pid) ? pid : undefined;
}

// Issue 9, item 10: one owner of the embedded PostgreSQL at a time; other
// daemons on the data dir are its clients and survive the owner's restart;
// a server left by a daemon killed with -9 is adopted, then stopped on a
// clean exit. Health is NOT_SERVING whenever the database is unreachable.
describe('the embedded PostgreSQL has one owner', () => {
  // A database of its own and processes the test starts and kills: no embedded server when CI uses DATABASE_URL.
  it(
    'a second daemon is a client that rides out its owner’s restart; an orphan is adopted and stopped',
    {
      skip: process.env['DATABASE_URL'] ? 'runs the embedded PostgreSQL only' : false,
    },
    async () => {
      const database = await createTestDatabase();
      const env = { NOVA_DATA_DIR: database.dataDir };
      const started: NovaProcess[] = [];
      const start = async (args: string[] = [], port?: number): Promise<NovaProcess> => {
        const nova = await startNova({ env, args, ...(port ? { port } : {}) });
        started.push(nova);
        return nova;
      };
      try {
        const owner = await start();
        const postgres = await postmasterOf(database.dataDir);
        assert.ok(postgres, 'the first daemon started the database');
        const client = await start(['--mode', 'dataplane']);
        assert.match(client.output(), /using the embedded PostgreSQL on port \d+, owned by process \d+/);
        const cp = createControlPlaneClient({ address: owner.address });
        const dp = createDataPlaneClient({ address: client.address });
        try {
          await cp.createFunction(createRequest({ name: 'owned' }));
          await waitUntil(
            'the client sees it',
            async () => (await statusOf(dp.invoke(invokeRequest('owned', Buffer.from('{}'))))).code === status.OK,
          );

          // The owner stops cleanly: the database goes with it; the client says so and answers UNAVAILABLE, never INTERNAL.
          assert.equal(await owner.stop(), 0);
          assert.equal(await postmasterOf(database.dataDir), undefined, 'the owner stopped its database');
          await waitUntil(
            'the client NOT_SERVING',
            async () => (await checkHealth(client.address)).status === 'NOT_SERVING',
            15_000,
          );
          const during = await statusOf(dp.listInvocations({ function: '', status: '', limit: 1, offset: 0 }));
          assert.equal(during.code, status.UNAVAILABLE, during.details);

          // The owner comes back: same port, the client reconnects by itself.
          const restarted = await start([], owner.port);
          await waitUntil(
            'the client SERVING again',
            async () => (await checkHealth(client.address)).status === 'SERVING',
            20_000,
          );
          assert.equal((await statusOf(dp.invoke(invokeRequest('owned', Buffer.from('{}'))))).code, status.OK);

          // kill -9: the database outlives its owner and the client keeps working.
          restarted.child.kill('SIGKILL');
          await restarted.exited;
          const orphan = await postmasterOf(database.dataDir);
          assert.ok(orphan, 'the orphaned database still runs');
          assert.equal((await statusOf(dp.invoke(invokeRequest('owned', Buffer.from('{}'))))).code, status.OK);

          // The next daemon adopts it, and stops it on its own clean exit.
          const adopter = await start();
          assert.match(adopter.output(), /adopting the embedded PostgreSQL on port \d+ left by a process that died/);
          assert.equal(isProcessAlive(orphan), false, 'the orphan was replaced by a server of the adopter');
          const adopted = await postmasterOf(database.dataDir);
          assert.ok(adopted);
          const acp = createControlPlaneClient({ address: adopter.address });
          try {
            assert.equal((await acp.getFunction({ name: 'owned' })).name, 'owned', 'same data');
          } finally {
            acp.close();
          }
          await waitUntil(
            'the client SERVING',
            async () => (await checkHealth(client.address)).status === 'SERVING',
            20_000,
          );
          assert.equal(await adopter.stop(), 0);
          assert.equal(isProcessAlive(adopted), false, 'stopped on the adopter’s clean exit');
          await waitUntil(
            'the client NOT_SERVING',
            async () => (await checkHealth(client.address)).status === 'NOT_SERVING',
            15_000,
          );
        } finally {
          cp.close();
          dp.close();
        }
      } finally {
        for (const nova of started) await nova.stop();
        const left = await postmasterOf(database.dataDir);
        if (left) process.kill(left, 'SIGINT');
        await waitUntil('no database left', async () => (await postmasterOf(database.dataDir)) === undefined, 20_000);
        await database.dispose();
      }
    },
  );
});
