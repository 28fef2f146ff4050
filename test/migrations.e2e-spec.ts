import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createControlPlaneClient } from '#proto';
import { EmbeddedPostgres } from '#storage';
import { createUrlDatabase, repoRoot, runCli, startNova } from './support/nova-process.js';
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
    // Every migration file, oldest first: <epoch>-<Name> becomes Name<epoch>.
    const files = (await readdir(join(repoRoot, 'libs/storage/src/migrations')))
      .filter((file) => /^\d+-\w+\.ts$/.test(file))
      .sort();
    const names = files.map((file) => file.replace(/^(\d+)-(\w+)\.ts$/, '$2$1'));
    assert.ok(names.length >= 5);
    assert.equal(outputs[0], `applied: ${names.join(', ')}`);
    assert.equal(outputs[1], 'database is up to date');

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM migrations');
      assert.equal(rows.length, names.length, 'each migration is recorded once');
      const tables = await client.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      );
      assert.deepEqual(
        tables.rows.map((row) => row.tablename),
        [
          'agent_registry',
          'agent_tasks',
          'api_keys',
          'cluster_nodes',
          'code_blobs',
          'function_aliases',
          'function_versions',
          'functions',
          'idempotency_keys',
          'invocations',
          'migrations',
          'state_clock',
          'state_events',
          'state_latest',
          'state_staged',
          'state_txns',
          'state_versions',
          'workflow_events',
          'workflow_steps',
          'workflows',
        ],
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

describe('the embedded PostgreSQL: Nova is not its superuser', () => {
  const quiet = (): void => undefined;

  it('connects as a role that cannot act as a superuser, and keeps its passwords 0600', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nova-test-'));
    const server = await EmbeddedPostgres.start({ dataDir, log: quiet });
    const client = new pg.Client({ connectionString: server.url });
    try {
      await client.connect();
      const { rows } = await client.query<{ rolsuper: boolean; rolcreaterole: boolean }>(
        'SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user',
      );
      assert.deepEqual(rows, [{ rolsuper: false, rolcreaterole: false }]);
      // What a superuser's password would give: a shell as the database's user.
      await assert.rejects(client.query("COPY (SELECT 1) TO PROGRAM 'id'"), { code: '42501' });
      assert.equal((await stat(join(dataDir, 'postgres-credentials.json'))).mode & 0o777, 0o600);
    } finally {
      await client.end().catch(() => undefined);
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('hands a cluster made before the roles were split over to a new app role, data kept', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'nova-test-'));
    try {
      const first = await startNova({ env: { NOVA_DATA_DIR: dataDir } });
      const cp = createControlPlaneClient({ address: first.address });
      await cp.createFunction(createRequest({ name: 'kept' }));
      cp.close();
      await first.stop();

      // Rebuild the old layout: the superuser owns everything and is the
      // only role, and the credentials file names it alone.
      const credentialsFile = join(dataDir, 'postgres-credentials.json');
      const { admin } = JSON.parse(await readFile(credentialsFile, 'utf8')) as {
        admin: { user: string; password: string };
      };
      const server = await EmbeddedPostgres.start({ dataDir, log: quiet });
      const adminUrl = new URL(server.url);
      adminUrl.username = admin.user;
      adminUrl.password = admin.password;
      const superuser = new pg.Client({ connectionString: adminUrl.toString() });
      await superuser.connect();
      await superuser.query(`REASSIGN OWNED BY nova TO ${admin.user}`);
      await superuser.query('DROP OWNED BY nova');
      await superuser.end();
      adminUrl.pathname = '/postgres';
      const other = new pg.Client({ connectionString: adminUrl.toString() });
      await other.connect();
      await other.query('DROP ROLE nova');
      await other.end();
      await server.stop();
      await writeFile(credentialsFile, JSON.stringify(admin), { mode: 0o600 });

      const second = await startNova({ env: { NOVA_DATA_DIR: dataDir } });
      try {
        assert.ok(
          second
            .logLines()
            .some((line) => /^handing \d+ database objects over to the role nova_app$/.test(String(line['msg']))),
        );
        const client = createControlPlaneClient({ address: second.address });
        assert.equal((await client.getFunction({ name: 'kept' })).name, 'kept');
        await client.createFunction(createRequest({ name: 'new' }));
        client.close();
        const upgraded = JSON.parse(await readFile(credentialsFile, 'utf8')) as { app: { user: string } };
        assert.equal(upgraded.app.user, 'nova_app');
        assert.equal((await stat(credentialsFile)).mode & 0o777, 0o600);
        const url = await EmbeddedPostgres.runningUrl(dataDir);
        const app = new pg.Client({ connectionString: url });
        await app.connect();
        const owners = await app.query<{ tableowner: string }>(
          "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'",
        );
        const superuserFlag = await app.query<{ rolsuper: boolean }>(
          'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
        );
        await app.end();
        assert.deepEqual(owners.rows, [{ tableowner: 'nova_app' }]);
        assert.deepEqual(superuserFlag.rows, [{ rolsuper: false }]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
