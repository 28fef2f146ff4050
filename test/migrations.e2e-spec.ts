import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createControlPlaneClient } from '#proto';
import { createUrlDatabase, runCli, startNova } from './support/nova-process.js';
import { createRequest } from './support/requests.js';

describe('migrations', () => {
  let database: { url: string; dispose(): Promise<void> };

  before(async () => {
    database = await createUrlDatabase();
  });

  after(async () => {
    await database.dispose();
  });

  it('lets two `nova migrate` processes run at once: one applies, the other waits and finds nothing to do', async () => {
    const env = { DATABASE_URL: database.url };
    const [first, second] = await Promise.all([runCli(['migrate'], env), runCli(['migrate'], env)]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const outputs = [first.stdout.trim(), second.stdout.trim()].sort();
    assert.match(
      outputs[0] ?? '',
      /^applied: InitialSchema\d+, Invocations\d+, AsyncInvocations\d+, FunctionSandbox\d+$/,
    );
    assert.equal(outputs[1], 'database is up to date');

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM migrations');
      assert.equal(rows.length, 4, 'each migration is recorded once');
      const tables = await client.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      );
      assert.deepEqual(
        tables.rows.map((row) => row.tablename),
        ['api_keys', 'code_blobs', 'function_versions', 'functions', 'idempotency_keys', 'invocations', 'migrations'],
      );
    } finally {
      await client.end();
    }
    const third = await runCli(['migrate'], env);
    assert.equal(third.stdout.trim(), 'database is up to date');
  });

  it('starts two unified servers on one database at once, both migrating under the advisory lock', async () => {
    const fresh = await createUrlDatabase();
    try {
      const servers = await Promise.all([
        startNova({ env: { DATABASE_URL: fresh.url } }),
        startNova({ env: { DATABASE_URL: fresh.url } }),
      ]);
      try {
        const [a, b] = servers.map((server) => createControlPlaneClient({ address: server.address }));
        await a!.createFunction(createRequest({ name: 'shared' }));
        assert.equal((await b!.getFunction({ name: 'shared' })).name, 'shared', 'both serve one database');
        a!.close();
        b!.close();
      } finally {
        await Promise.all(servers.map((server) => server.stop()));
      }
    } finally {
      await fresh.dispose();
    }
  });

  it('makes a separate plane on a shared database wait for `nova migrate`', async () => {
    const fresh = await createUrlDatabase();
    try {
      const refused = await startNova({ entry: 'control-plane', env: { DATABASE_URL: fresh.url } }).then(
        () => assert.fail('should not start'),
        (error: Error) => error.message,
      );
      assert.match(refused, /pending migrations: run `nova migrate` first/);
      assert.equal((await runCli(['migrate'], { DATABASE_URL: fresh.url })).code, 0);
      const plane = await startNova({ entry: 'control-plane', env: { DATABASE_URL: fresh.url } });
      await plane.stop();
    } finally {
      await fresh.dispose();
    }
  });
});
