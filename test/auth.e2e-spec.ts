import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createControlPlaneClient, createDataPlaneClient, createKeyAdminClient, createStatehouseClient } from '#proto';
import { createTestDatabase, createUrlDatabase, runCli, startNova } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { checkHealth, reflect } from './support/raw-grpc.js';
import { createRequest } from './support/requests.js';
import { codeOf, statusOf } from './support/grpc-status.js';

/** The admin key a server with auth on and no key prints at its first start. */
function bootstrapKeyIn(output: string): string | undefined {
  return /^ {4}(nova_[\w-]+)$/m.exec(output)?.[1];
}

describe('auth (NOVA_AUTH=required)', () => {
  const fx = useNova({ NOVA_AUTH: 'required' });
  let bootstrapKey: string;
  let adminKey: { key: string; id: string };
  let invokeKey: { key: string; id: string };

  /** `nova keys create` over nova.v1.KeyAdmin, with the first admin key. */
  async function createKey(scope: string): Promise<{ key: string; id: string }> {
    const result = await runCli(['keys', 'create', '--scope', scope, '--description', `e2e ${scope}`, '--json'], {
      NOVA_ADDR: fx.nova.address,
      NOVA_API_KEY: bootstrapKey,
    });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as { key: string; id: string };
  }
  const asAdmin = (): Record<string, string> => ({ NOVA_ADDR: fx.nova.address, NOVA_API_KEY: bootstrapKey });

  before(async () => {
    bootstrapKey = bootstrapKeyIn(fx.nova.output()) ?? '';
    assert.ok(bootstrapKey, `the first start printed an admin key:\n${fx.nova.output()}`);
    adminKey = await createKey('admin');
    invokeKey = await createKey('invoke');
  });

  const controlPlane = (apiKey?: string): ReturnType<typeof createControlPlaneClient> =>
    createControlPlaneClient({ address: fx.nova.address, ...(apiKey ? { apiKey } : {}) });
  const dataPlane = (apiKey?: string): ReturnType<typeof createDataPlaneClient> =>
    createDataPlaneClient({ address: fx.nova.address, ...(apiKey ? { apiKey } : {}) });

  it('tells a CLI user without a key how to give one', async () => {
    const result = await runCli(['functions', 'list'], { NOVA_ADDR: fx.nova.address });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: UNAUTHENTICATED: .*; set NOVA_API_KEY or pass --api-key\n$/);
  });

  it('answers UNAUTHENTICATED without a key or with an unknown one', async () => {
    assert.equal(await codeOf(controlPlane().listFunctions({ limit: 0, offset: 0 })), status.UNAUTHENTICATED);
    assert.equal(await codeOf(dataPlane().health({})), status.UNAUTHENTICATED);
    assert.equal(await codeOf(controlPlane('nova_not-a-real-key').listRuntimes({})), status.UNAUTHENTICATED);
    const malformed = createControlPlaneClient({ address: fx.nova.address });
    assert.equal(
      await codeOf(malformed.listRuntimes({}, { metadata: { authorization: `Basic ${adminKey.key}` } })),
      status.UNAUTHENTICATED,
    );
  });

  it('lets an admin key do everything', async () => {
    assert.equal(await codeOf(controlPlane(adminKey.key).listFunctions({ limit: 0, offset: 0 })), status.OK);
    assert.equal(await codeOf(dataPlane(adminKey.key).health({})), status.OK);
  });

  it('answers PERMISSION_DENIED to an invoke key on the control plane, and serves it on the data plane', async () => {
    assert.equal(await codeOf(controlPlane(invokeKey.key).listRuntimes({})), status.PERMISSION_DENIED);
    assert.equal(
      await codeOf(controlPlane(invokeKey.key).createFunction(createRequest({ name: 'sneaky' }))),
      status.PERMISSION_DENIED,
    );
    assert.equal(await codeOf(dataPlane(invokeKey.key).health({})), status.OK);
  });

  it('keeps health checks and reflection open', async () => {
    assert.deepEqual(await checkHealth(fx.nova.address), { code: 0, status: 'SERVING' });
    const services = await reflect(fx.nova.address, { listServices: '' });
    assert.ok(services.listServicesResponse?.service.some((service) => service.name === 'nova.v1.ControlPlane'));
  });

  it('prints the first admin key once, at the first start, and never logs its secret', () => {
    const output = fx.nova.output();
    assert.equal(output.split(bootstrapKey).length - 1, 2, 'on the key line and the export line, nowhere else');
    const line = fx.nova
      .logLines()
      .find((entry) => entry['msg'] === 'made the first admin key and printed it on stderr');
    assert.ok(line, 'a log line says it was made');
    assert.equal(line['prefix'], bootstrapKey.slice(0, 12));
  });

  it('lists keys over KeyAdmin without their secrets', async () => {
    const result = await runCli(['keys', 'list', '--json'], asAdmin());
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes(adminKey.key), 'the secret is never shown again');
    const keys = JSON.parse(result.stdout) as { id: string; scope: string; prefix: string }[];
    assert.deepEqual(keys.map((key) => key.scope).sort(), ['admin', 'admin', 'invoke']);
    assert.ok(adminKey.key.startsWith(keys.find((key) => key.id === adminKey.id)?.prefix ?? '-'));
    const table = await runCli(['keys', 'list'], asAdmin());
    assert.match(table.stdout, /^ID +PREFIX +SCOPE +CREATED +REVOKED +DESCRIPTION$/m);
  });

  it('lets only admin keys manage keys', async () => {
    const withKey = (apiKey?: string) =>
      createKeyAdminClient({ address: fx.nova.address, ...(apiKey ? { apiKey } : {}) });
    assert.equal(await codeOf(withKey().listKeys({})), status.UNAUTHENTICATED);
    assert.equal(await codeOf(withKey(invokeKey.key).listKeys({})), status.PERMISSION_DENIED);
    assert.equal(
      await codeOf(withKey(invokeKey.key).createKey({ scope: 'admin', description: '' })),
      status.PERMISSION_DENIED,
    );
    const refused = await statusOf(withKey(adminKey.key).createKey({ scope: 'root', description: '' }));
    assert.equal(refused.code, status.INVALID_ARGUMENT);
    assert.match(refused.details, /scope: "root" is not a scope; one of admin, invoke, state/);
    const missing = await statusOf(withKey(adminKey.key).revokeKey({ idOrPrefix: 'nova_nothing' }));
    assert.equal(missing.code, status.NOT_FOUND);
    const cli = await runCli(['keys', 'list'], { NOVA_ADDR: fx.nova.address });
    assert.match(cli.stderr, /^error: UNAUTHENTICATED: .*; set NOVA_API_KEY or pass --api-key$/m);
  });

  it('stops accepting a revoked key at once, through NOTIFY', async () => {
    const temporary = await createKey('admin');
    assert.equal(await codeOf(controlPlane(temporary.key).listRuntimes({})), status.OK, 'accepted and now cached');
    const revoked = await runCli(['keys', 'revoke', temporary.id], asAdmin());
    assert.equal(revoked.code, 0, revoked.stderr);
    const deadline = Date.now() + 3000;
    let code = status.OK;
    while (Date.now() < deadline && code === status.OK) {
      code = await codeOf(controlPlane(temporary.key).listRuntimes({}));
      if (code === status.OK) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(code, status.UNAUTHENTICATED);
    const again = await runCli(['keys', 'revoke', temporary.id], asAdmin());
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: NOT_FOUND: no single live key has the id or prefix/);
  });

  it('lets state and admin keys use statehouse.v1, and no other', async () => {
    const stateKey = await createKey('state');
    const statehouse = (apiKey?: string) =>
      createStatehouseClient({ address: fx.nova.address, ...(apiKey ? { apiKey } : {}) });
    const read = (apiKey?: string) =>
      codeOf(statehouse(apiKey).getState({ namespace: 'default', agentId: 'auth', key: 'k' }));
    assert.equal(await read(stateKey.key), status.OK);
    assert.equal(await read(adminKey.key), status.OK);
    assert.equal(await read(invokeKey.key), status.PERMISSION_DENIED);
    assert.equal(await read(), status.UNAUTHENTICATED);
    assert.equal(await codeOf(controlPlane(stateKey.key).listRuntimes({})), status.PERMISSION_DENIED);
    assert.equal(await codeOf(dataPlane(stateKey.key).health({})), status.PERMISSION_DENIED);
  });

  it('refuses a key scope it does not know', async () => {
    const result = await runCli(['keys', 'create', '--scope', 'root'], asAdmin());
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--scope must be one of admin, invoke, state/);
  });

  it('bootstraps a key into the running server’s database when its data dir or URL is named', async () => {
    const target = fx.database.env['DATABASE_URL']
      ? ['--database-url', fx.database.env['DATABASE_URL']]
      : ['--data-dir', fx.database.dataDir];
    const result = await runCli(['keys', 'create', '--scope', 'admin', ...target, '--json'], {});
    assert.equal(result.code, 0, result.stderr);
    const { key } = JSON.parse(result.stdout) as { key: string };
    assert.equal(await codeOf(controlPlane(key).listRuntimes({})), status.OK, 'the server accepts it');
  });

  it('never makes a database from a client command', async () => {
    const elsewhere = await mkdtemp(join(tmpdir(), 'nova-elsewhere-'));
    try {
      // From another folder, no flags: a gRPC call, refused without a key; nothing written there.
      const plain = await runCli(
        ['keys', 'create', '--scope', 'admin'],
        { NOVA_ADDR: fx.nova.address },
        undefined,
        elsewhere,
      );
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, /UNAUTHENTICATED/);
      const empty = join(elsewhere, 'data');
      const noCluster = await runCli(
        ['keys', 'create', '--scope', 'admin', '--data-dir', empty],
        {},
        undefined,
        elsewhere,
      );
      assert.equal(noCluster.code, 1);
      assert.match(noCluster.stderr, /holds no Nova database; give the --data-dir of a Nova that has run/);
      assert.deepEqual(await readdir(elsewhere), [], 'no database, no folder');

      const blank = await createUrlDatabase();
      try {
        const noSchema = await runCli(['keys', 'create', '--scope', 'admin', '--database-url', blank.url], {});
        assert.equal(noSchema.code, 1);
        assert.match(noSchema.stderr, /does not hold Nova's current schema; run `nova migrate` against it first/);
      } finally {
        await blank.dispose();
      }
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});

describe('the first admin key', () => {
  it('is made only when no key exists: a restart prints none', async () => {
    const database = await createTestDatabase();
    try {
      const env = { ...database.env, NOVA_AUTH: 'required' };
      const first = await startNova({ env });
      assert.ok(bootstrapKeyIn(first.output()));
      assert.equal(await first.stop(), 0);
      const second = await startNova({ env });
      try {
        assert.equal(bootstrapKeyIn(second.output()), undefined);
      } finally {
        await second.stop();
      }
      // With auth off nothing is made.
      const open = await createTestDatabase();
      const off = await startNova({ env: open.env });
      try {
        assert.equal(bootstrapKeyIn(off.output()), undefined);
      } finally {
        await off.stop();
        await open.dispose();
      }
    } finally {
      await database.dispose();
    }
  });
});
