import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createControlPlaneClient, createDataPlaneClient } from '#proto';
import { runCli, type TestDatabase } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { checkHealth, reflect } from './support/raw-grpc.js';
import { createRequest } from './support/requests.js';
import { codeOf } from './support/grpc-status.js';

async function createKey(database: TestDatabase, scope: string): Promise<{ key: string; id: string }> {
  const result = await runCli(
    ['keys', 'create', '--scope', scope, '--description', `e2e ${scope}`, '--json'],
    database.env,
  );
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as { key: string; id: string };
}

describe('auth (NOVA_AUTH=required)', () => {
  const fx = useNova({ NOVA_AUTH: 'required' });
  let adminKey: { key: string; id: string };
  let invokeKey: { key: string; id: string };

  before(async () => {
    // The CLI works on the database directly, beside the running server.
    adminKey = await createKey(fx.database, 'admin');
    invokeKey = await createKey(fx.database, 'invoke');
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

  it('lists keys without their secrets', async () => {
    const result = await runCli(['keys', 'list', '--json'], fx.database.env);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes(adminKey.key), 'the secret is never shown again');
    const keys = JSON.parse(result.stdout) as { id: string; scope: string; prefix: string }[];
    assert.deepEqual(keys.map((key) => key.scope).sort(), ['admin', 'invoke']);
    assert.ok(adminKey.key.startsWith(keys.find((key) => key.id === adminKey.id)?.prefix ?? '-'));
  });

  it('stops accepting a revoked key at once, through NOTIFY', async () => {
    const temporary = await createKey(fx.database, 'admin');
    assert.equal(await codeOf(controlPlane(temporary.key).listRuntimes({})), status.OK, 'accepted and now cached');
    const revoked = await runCli(['keys', 'revoke', temporary.id], fx.database.env);
    assert.equal(revoked.code, 0, revoked.stderr);
    const deadline = Date.now() + 3000;
    let code = status.OK;
    while (Date.now() < deadline && code === status.OK) {
      code = await codeOf(controlPlane(temporary.key).listRuntimes({}));
      if (code === status.OK) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(code, status.UNAUTHENTICATED);
    const again = await runCli(['keys', 'revoke', temporary.id], fx.database.env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: no single live key matches/);
  });

  it('refuses a key scope it does not know', async () => {
    const result = await runCli(['keys', 'create', '--scope', 'root'], fx.database.env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--scope must be one of admin, invoke/);
  });
});
