import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest, invokeRequest } from './support/requests.js';
import { useNova } from './support/fixture.js';

/**
 * Attacks an ordinary tenant can make with function code alone, each
 * repeated here to show it stays closed. The other hardening specs cover the
 * sandbox (hardening-sandbox) and the node's resources (hardening-limits).
 */
describe('hardening: the instance channel is untrusted input', () => {
  const fx = useNova({ NOVA_ASYNC_CONCURRENCY: '2' });

  const invoke = (fn: string, payload = '{}') => fx.dp.invoke(invokeRequest(fn, Buffer.from(payload)));

  async function assertServing(): Promise<void> {
    const health = await fx.dp.health({});
    assert.equal(health.status, 'healthy');
  }

  // Each writes something other than the bootstrap's frames to fd 3 and then
  // waits, so that only the data plane's reaction can end the call.
  const pythonAttacks: Record<string, string> = {
    'py-null-frame': 'sock.sendall(struct.pack(">II", 4, 0) + b"null")',
    'py-garbage': 'sock.sendall(b"\\xff" * 64)',
    'py-huge-prefix': 'sock.sendall(struct.pack(">II", 0xFFFFFFFF, 0xFFFFFFFF))',
    'py-wrong-request':
      'h = json.dumps({"t": "result", "requestId": "other", "ok": True, "log": "", "logTruncated": False}).encode(); sock.sendall(struct.pack(">II", len(h), 0) + h)',
    'py-chunk-flood':
      'h = json.dumps({"t": "chunk", "requestId": context.request_id}).encode()\n    for _ in range(10000): sock.sendall(struct.pack(">II", len(h), 1) + h + b"x")',
  };

  for (const [name, attack] of Object.entries(pythonAttacks)) {
    it(`Python: ${name} kills only that instance and fails its call clearly`, async () => {
      await fx.cp.createFunction(
        createRequest({
          name,
          code: Buffer.from(
            `import json, socket, struct, time\n\ndef handler(event, context):\n    sock = socket.socket(fileno=3)\n    ${attack}\n    time.sleep(10)\n    return "not reached"\n`,
          ),
        }),
      );
      const started = Date.now();
      const response = await invoke(name);
      assert.match(response.error, /InstanceProtocolError|RuntimeExitError/);
      assert.ok(Date.now() - started < 5000, 'ended by the data plane, not by the sleep or the timeout');
      await assertServing();
    });
  }

  it('Node: a null frame written with fs.writeSync(3) kills only that instance', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'node-null-frame',
        runtime: 'node',
        code: Buffer.from(
          "const fs = require('fs');\nexports.handler = async () => { fs.writeSync(3, Buffer.from([0,0,0,4,0,0,0,0,110,117,108,108])); await new Promise((r) => setTimeout(r, 10000)); return 1; };\n",
        ),
      }),
    );
    const response = await invoke('node-null-frame');
    assert.match(response.error, /InstanceProtocolError/);
    await assertServing();
  });

  it('an async call of such a function ends as a dead letter and the node keeps serving', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'py-async-null',
        code: Buffer.from(
          'import socket, struct, time\n\ndef handler(event):\n    socket.socket(fileno=3).sendall(struct.pack(">II", 4, 0) + b"null")\n    time.sleep(10)\n',
        ),
      }),
    );
    const queued = await fx.dp.invokeAsync({
      function: 'py-async-null',
      payload: Buffer.from('{}'),
      maxAttempts: 2,
      backoffBaseMs: 10,
      backoffMaxMs: 20,
      idempotencyKey: '',
      version: 0,
    });
    const deadline = Date.now() + 20_000;
    let invocation = await fx.dp.getInvocation({ id: queued.invocationId });
    while (invocation.status !== 'dead_letter' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      invocation = await fx.dp.getInvocation({ id: queued.invocationId });
    }
    assert.equal(invocation.status, 'dead_letter');
    assert.equal(invocation.attempts, 2);
    assert.match(invocation.error, /InstanceProtocolError/);
    await assertServing();
    assert.equal(fx.nova.child.exitCode, null, 'the server is still running');
  });

  it('a well-behaved function keeps working beside them', async () => {
    await fx.cp.createFunction(createRequest({ name: 'py-fine' }));
    const response = await invoke('py-fine');
    assert.equal(response.error, '');
    assert.deepEqual(JSON.parse(Buffer.from(response.output).toString()), { message: 'hello' });
  });
});
