import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createControlPlaneClient, createDataPlaneClient } from '#proto';
import { createTestDatabase, freePort, runCli, startNova } from './support/nova-process.js';
import { checkHealth, rawUnary, reflect } from './support/raw-grpc.js';
import { createRequest } from './support/requests.js';

async function servicesOf(address: string): Promise<string[]> {
  const response = await reflect(address, { listServices: '' });
  return (response.listServicesResponse?.service ?? []).map((service) => service.name).sort();
}

describe('each plane on its own composition root', () => {
  it('serves the control plane alone', async () => {
    const database = await createTestDatabase();
    const plane = await startNova({ entry: 'control-plane', env: database.env });
    try {
      const cp = createControlPlaneClient({ address: plane.address });
      const info = await cp.createFunction(createRequest({ name: 'alone' }));
      assert.equal(info.version, 1);
      assert.equal((await cp.listFunctions({ limit: 0, offset: 0 })).total, 1);
      cp.close();
      assert.deepEqual(await servicesOf(plane.address), [
        'grpc.health.v1.Health',
        'nova.v1.Cluster',
        'nova.v1.ControlPlane',
        'nova.v1.KeyAdmin',
      ]);
      const dataPlaneCall = await rawUnary(plane.address, '/nova.v1.DataPlane/Health', Buffer.alloc(0));
      assert.equal(dataPlaneCall.error?.code, status.UNIMPLEMENTED);
      assert.ok(plane.logLines().some((line) => line['msg'] === 'nova listening' && line['mode'] === 'controlplane'));
    } finally {
      await plane.stop();
      await database.dispose();
    }
  });

  it('serves the data plane alone', async () => {
    const database = await createTestDatabase();
    const plane = await startNova({ entry: 'data-plane', env: database.env });
    try {
      const dp = createDataPlaneClient({ address: plane.address });
      assert.equal((await dp.health({})).status, 'healthy');
      dp.close();
      assert.deepEqual(await servicesOf(plane.address), [
        'grpc.health.v1.Health',
        'nova.v1.DataPlane',
        'nova.v1.Workflows',
        'raftoral.RaftService',
        'raftoral.WorkflowManagement',
        'statehouse.v1.StatehouseService',
      ]);
      const controlPlaneCall = await rawUnary(plane.address, '/nova.v1.ControlPlane/ListRuntimes', Buffer.alloc(0));
      assert.equal(controlPlaneCall.error?.code, status.UNIMPLEMENTED);
    } finally {
      await plane.stop();
      await database.dispose();
    }
  });

  it('runs a router alone: healthy, reporting no node to route to, and answering UNAVAILABLE for calls', async () => {
    const database = await createTestDatabase();
    const plane = await startNova({ entry: 'router', env: database.env });
    try {
      assert.deepEqual(await checkHealth(plane.address), { code: 0, status: 'SERVING' });
      const call = await rawUnary(plane.address, '/nova.v1.DataPlane/Invoke', Buffer.alloc(0));
      assert.equal(call.error?.code, status.UNAVAILABLE);
      assert.match(call.error?.details ?? '', /no live data-plane node/);
      const dp = createDataPlaneClient({ address: plane.address });
      const health = await dp.health({});
      dp.close();
      assert.equal(health.status, 'unhealthy');
      assert.equal(health.components['router'], '0 data-plane nodes routable');
    } finally {
      await plane.stop();
      await database.dispose();
    }
  });

  it('runs one plane from `nova daemon --mode`', async () => {
    const database = await createTestDatabase();
    const plane = await startNova({ env: database.env, args: ['--mode', 'controlplane'] });
    try {
      assert.deepEqual(await servicesOf(plane.address), [
        'grpc.health.v1.Health',
        'nova.v1.Cluster',
        'nova.v1.ControlPlane',
        'nova.v1.KeyAdmin',
      ]);
    } finally {
      await plane.stop();
      await database.dispose();
    }
  });
});

describe('protected mode', () => {
  it('refuses to listen beyond loopback with auth off, naming both ways out', async () => {
    const port = await freePort();
    const result = await runCli(['daemon', '--grpc-addr', `:${port}`], { NOVA_DATA_DIR: '/nonexistent/never-used' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /NOVA_AUTH=required/);
    assert.match(result.stderr, /--insecure/);
  });

  it('names every bad setting in one message', async () => {
    const result = await runCli(['daemon', '--mode', 'sideways', '--log-level', 'chatty'], {});
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--mode="sideways": must be one of/);
    assert.match(result.stderr, /--log-level="chatty": must be one of/);
  });

  it('listens on every interface with --insecure', async () => {
    const database = await createTestDatabase();
    const port = await freePort();
    const nova = await startNova({ env: database.env, port, args: ['--grpc-addr', `:${port}`, '--insecure'] });
    try {
      assert.deepEqual(await checkHealth(`127.0.0.1:${port}`), { code: 0, status: 'SERVING' });
    } finally {
      await nova.stop();
      await database.dispose();
    }
  });
});
