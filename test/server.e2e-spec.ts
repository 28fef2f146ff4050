import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { createDataPlaneClient } from '#proto';
import { useNova } from './support/fixture.js';
import { createTestDatabase, startNova } from './support/nova-process.js';
import { checkHealth, healthClient, rawUnary, reflect } from './support/raw-grpc.js';

describe('server plumbing (unified mode)', () => {
  const fx = useNova();

  it('lists every service through reflection', async () => {
    const response = await reflect(fx.nova.address, { listServices: '' });
    const names = response.listServicesResponse?.service.map((service) => service.name).sort();
    assert.deepEqual(names, [
      'agentplatform.AgentService',
      'agentplatform.TaskWorker',
      'agentplatform.ToolService',
      'grpc.health.v1.Health',
      'nova.v1.AgentRegistry',
      'nova.v1.Cluster',
      'nova.v1.ControlPlane',
      'nova.v1.DataPlane',
      'nova.v1.KeyAdmin',
      'nova.v1.Workflows',
      'raftoral.RaftService',
      'raftoral.WorkflowManagement',
      'statehouse.v1.StatehouseService',
    ]);
  });

  it('describes services with the exact .proto files, so grpcurl and buf curl can call them', async () => {
    const response = await reflect(fx.nova.address, { fileContainingSymbol: 'nova.v1.ControlPlane' });
    const files = (response.fileDescriptorResponse?.fileDescriptorProto ?? []).map(
      (bytes) =>
        descriptor.FileDescriptorProto.decode(bytes) as unknown as {
          name: string;
          service: { name: string; method: { name: string }[] }[];
          messageType: { name: string; field: { name: string; number: number }[] }[];
        },
    );
    const file = files.find((f) => f.name === 'nova/v1/control_plane.proto');
    assert.ok(file, `got ${files.map((f) => f.name).join(', ')}`);
    assert.deepEqual(
      file.service[0]?.method.map((m) => m.name),
      [
        'CreateFunction',
        'GetFunction',
        'ListFunctions',
        'UpdateFunction',
        'DeleteFunction',
        'UpdateFunctionCode',
        'ListRuntimes',
        'ListFunctionVersions',
        'SetAlias',
        'GetAlias',
        'ListAliases',
        'DeleteAlias',
      ],
    );
    const createRequest = file.messageType.find((m) => m.name === 'CreateFunctionRequest');
    assert.deepEqual(
      createRequest?.field.slice(0, 8).map((f) => [f.name, f.number]),
      [
        ['name', 1],
        ['runtime', 2],
        ['handler', 3],
        ['code', 4],
        ['memory_mb', 5],
        ['timeout_s', 6],
        ['env_vars', 7],
        ['mode', 8],
      ],
    );
  });

  it('answers grpc.health.v1 Check with SERVING for the server and each service', async () => {
    for (const service of [
      '',
      'agentplatform.AgentService',
      'nova.v1.Cluster',
      'nova.v1.ControlPlane',
      'nova.v1.DataPlane',
      'nova.v1.KeyAdmin',
      'nova.v1.Workflows',
      'raftoral.WorkflowManagement',
      'statehouse.v1.StatehouseService',
    ]) {
      assert.deepEqual(await checkHealth(fx.nova.address, service), { code: 0, status: 'SERVING' }, service);
    }
    assert.equal((await checkHealth(fx.nova.address, 'no.such.Service')).code, status.NOT_FOUND);
    // What Kubernetes' liveness probe asks (docker/k8s): the process answers.
    assert.deepEqual(await checkHealth(fx.nova.address, 'liveness'), { code: 0, status: 'SERVING' });
  });

  it('serves DataPlane Health with the database and each runtime', async () => {
    const dp = createDataPlaneClient({ address: fx.nova.address });
    try {
      const health = await dp.health({});
      assert.equal(health.status, 'healthy');
      assert.match(health.components['database'] ?? '', /^ok/);
      assert.match(health.components['runtime.python'] ?? '', /^ok \(Python 3\./);
      assert.match(health.components['runtime.node'] ?? '', new RegExp(`^ok \\(Node.js ${process.versions.node}\\)`));
    } finally {
      dp.close();
    }
  });

  it('answers INVALID_ARGUMENT, not INTERNAL, to bytes that are not the request message', async () => {
    const garbage = [
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0x12, 0x05, 0x01]), // a bytes field claiming 5 bytes, holding 1
      Buffer.from([0x0f]), // wire type 7 does not exist
    ];
    for (const [method, body] of [
      ['/nova.v1.ControlPlane/CreateFunction', garbage[0]!],
      ['/nova.v1.DataPlane/Invoke', garbage[1]!],
      ['/nova.v1.DataPlane/InvokeAsync', garbage[2]!],
    ] as const) {
      const result = await rawUnary(fx.nova.address, method, body);
      assert.equal(result.error?.code, status.INVALID_ARGUMENT, method);
      assert.match(result.error?.details ?? '', new RegExp(`not a valid protobuf message for ${method}`));
    }
    // The call's log line is written as its status goes out; give it a moment.
    const logged = (): Record<string, unknown> | undefined =>
      fx.nova.logLines().find((entry) => entry['method'] === '/nova.v1.DataPlane/InvokeAsync');
    for (let waited = 0; !logged() && waited < 2000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.equal(logged()?.['code'], 'INVALID_ARGUMENT');
    assert.equal((await checkHealth(fx.nova.address)).status, 'SERVING');
  });

  it('answers UNIMPLEMENTED for a method no plane serves', async () => {
    const result = await rawUnary(fx.nova.address, '/nova.v1.DataPlane/NoSuchMethod', Buffer.alloc(0));
    assert.equal(result.error?.code, status.UNIMPLEMENTED);
  });

  it('logs one JSON line per call with method, status, duration and the request id it echoes back', async () => {
    const metadata = new Metadata();
    metadata.set('x-request-id', 'e2e-request-42');
    const ok = await rawUnary(fx.nova.address, '/nova.v1.DataPlane/Health', Buffer.alloc(0), metadata);
    assert.equal(ok.error, null);
    assert.equal(ok.headers?.get('x-request-id')[0], 'e2e-request-42');

    const failed = await rawUnary(
      fx.nova.address,
      '/nova.v1.ControlPlane/GetFunction',
      Buffer.from([0x0a, 0x01, 0x58]),
    );
    assert.equal(failed.error?.code, status.INVALID_ARGUMENT);
    const generatedId = failed.error?.metadata.get('x-request-id')[0];

    await new Promise((resolve) => setTimeout(resolve, 100));
    const calls = fx.nova.logLines().filter((line) => line['msg'] === 'call');
    const healthLine = calls.filter((line) => line['requestId'] === 'e2e-request-42');
    assert.equal(healthLine.length, 1, 'exactly one line per call');
    assert.equal(healthLine[0]?.['method'], '/nova.v1.DataPlane/Health');
    assert.equal(healthLine[0]?.['code'], 'OK');
    assert.equal(typeof healthLine[0]?.['durationMs'], 'number');
    const failedLine = calls.find((line) => line['method'] === '/nova.v1.ControlPlane/GetFunction');
    assert.equal(failedLine?.['code'], 'INVALID_ARGUMENT');
    assert.equal(failedLine?.['level'], 'warn');
    assert.match(String(failedLine?.['requestId']), /^[0-9a-f-]{36}$/);
    if (generatedId !== undefined) assert.equal(failedLine?.['requestId'], generatedId);
  });
});

describe('graceful shutdown', () => {
  it('turns NOT_SERVING as soon as shutdown starts, then exits 0 and stops its PostgreSQL', async () => {
    const database = await createTestDatabase();
    const nova = await startNova({ env: database.env });
    try {
      const client = healthClient(nova.address);
      const statuses: string[] = [];
      const watch = client.Watch({ service: '' });
      const sawNotServing = new Promise<void>((resolve) => {
        watch.on('data', (update: { status: string }) => {
          statuses.push(update.status);
          if (update.status === 'SERVING') nova.child.kill('SIGTERM');
          if (update.status === 'NOT_SERVING') {
            watch.cancel();
            resolve();
          }
        });
      });
      watch.on('error', () => undefined);
      await sawNotServing;
      client.close();
      assert.deepEqual(statuses, ['SERVING', 'NOT_SERVING']);
      assert.equal(await nova.exited, 0);
      const messages = nova.logLines().map((line) => line['msg']);
      assert.ok(messages.includes('shutting down: draining calls'));
      assert.ok(messages.includes('embedded PostgreSQL stopped') || database.env['DATABASE_URL'] !== undefined);
      assert.equal(messages.at(-1), 'stopped');
    } finally {
      await nova.stop();
      await database.dispose();
    }
  });
});
