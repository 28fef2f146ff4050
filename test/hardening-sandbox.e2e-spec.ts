import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createRequest, updateRequest } from './support/requests.js';
import { useNova } from './support/fixture.js';
import { statusOf } from './support/grpc-status.js';
import { HitCounter } from './support/hit-counter.js';
import { hostPidOf } from './support/instances.js';

const isRoot = process.getuid?.() === 0;

/** What a function sees of its sandbox, from the inside. */
const probe = `
import ctypes, os, socket

def connect(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return "reached"
    except OSError as error:
        return type(error).__name__

def handler(event):
    libc = ctypes.CDLL(None, use_errno=True)
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return {
        "uid": os.getuid(),
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "nova_port": connect("127.0.0.1", event["novaPort"]),
        "test_host": connect(event["testHost"], event["testPort"]),
        "unshare_user": libc.unshare(0x10000000),
        "ptrace": libc.ptrace(16, 1, 0, 0),
        "no_new_privs": status["NoNewPrivs"].strip(),
        "seccomp": status["Seccomp"].strip(),
        "capabilities": status["CapEff"].strip(),
        "root": sorted(os.listdir("/")),
        "blocked": {host: connect(host, event["novaPort"]) for host in event.get("blocked", [])},
    }
`;

describe('hardening: the sandbox', { skip: !isRoot && 'namespaces and cgroups need root here' }, () => {
  const fx = useNova({ NOVA_INSTANCE_TMP_MB: '16', NOVA_INSTANCE_PIDS: '64' });
  const testHost = new HitCounter();
  before(() => testHost.start());
  after(() => testHost.stop());

  const invoke = (fn: string, event: unknown = {}) =>
    fx.dp.invoke({ function: fn, payload: Buffer.from(JSON.stringify(event)), timeoutS: 0, metadata: {} });
  const json = (output: Uint8Array): Record<string, unknown> =>
    JSON.parse(Buffer.from(output).toString()) as Record<string, unknown>;

  it('Health says how instances are confined', async () => {
    const health = await fx.dp.health({});
    assert.match(health.components['sandbox.namespaces'] ?? '', /^ok \(bubblewrap/);
    assert.match(health.components['sandbox.cgroups'] ?? '', /^ok \(cgroup/);
  });

  it('a function without network reaches neither the platform, nor the database, nor any host', async () => {
    await fx.cp.createFunction(createRequest({ name: 'probe-none', code: Buffer.from(probe) }));
    const report = json(
      (await invoke('probe-none', { novaPort: fx.nova.port, testHost: testHost.address, testPort: testHost.port }))
        .output,
    );
    assert.equal(report['nova_port'], 'ConnectionRefusedError', 'its loopback is its own');
    assert.notEqual(report['test_host'], 'reached');
    assert.deepEqual(report['fds'], [0, 1, 2, 3, 4], 'stdio, the channel and the listing itself; nothing inherited');
    assert.deepEqual(report['processes'], [1, 2], 'its own pid namespace');
    assert.equal(report['unshare_user'], -1, 'no new user namespaces (seccomp)');
    assert.equal(report['ptrace'], -1);
    assert.equal(report['no_new_privs'], '1');
    assert.equal(report['seccomp'], '2');
    assert.equal(report['capabilities'], '0000000000000000');
    assert.notEqual(report['uid'], 0);
    assert.deepEqual(report['root'], ['bin', 'dev', 'etc', 'lib', 'lib64', 'nova', 'proc', 'sbin', 'tmp', 'usr']);
  });

  it('a function with network=egress reaches a host outside, but not the node, loopback or private ranges', async () => {
    // Created without network, then given egress by an update: the new setting gets new instances.
    await fx.cp.createFunction(createRequest({ name: 'probe-egress', code: Buffer.from(probe) }));
    await fx.cp.updateFunction(updateRequest('probe-egress', { network: 'egress' }));
    assert.equal((await fx.cp.getFunction({ name: 'probe-egress' })).network, 'egress');
    const report = json(
      (
        await invoke('probe-egress', {
          novaPort: fx.nova.port,
          testHost: testHost.address,
          testPort: testHost.port,
          blocked: ['10.0.2.2', '10.1.2.3', '169.254.169.254', '192.168.1.1', '172.16.0.1'],
        })
      ).output,
    );
    assert.equal(report['test_host'], 'reached');
    assert.equal(report['nova_port'], 'ConnectionRefusedError');
    for (const [host, outcome] of Object.entries(report['blocked'] as Record<string, string>)) {
      assert.notEqual(outcome, 'reached', host);
    }
  });

  it('refuses an unknown network mode with INVALID_ARGUMENT', async () => {
    const result = await statusOf(fx.cp.createFunction(createRequest({ name: 'bad-net', network: 'host' })));
    assert.equal(result.code, status.INVALID_ARGUMENT);
    assert.match(result.details, /^network: /);
  });

  it('kills fork + setsid escapees with their instance after a timeout', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'escapee',
        timeoutS: 1,
        code: Buffer.from(
          'import ctypes, os, time\ndef handler(event):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            ctypes.CDLL(None).prctl(15, event.encode(), 0, 0, 0)\n            while True: pass\n        os._exit(0)\n    time.sleep(30)\n',
        ),
      }),
    );
    const marker = `esc${process.pid % 100000}`;
    const result = await statusOf(invoke('escapee', marker));
    assert.equal(result.code, status.DEADLINE_EXCEEDED);
    const deadline = Date.now() + 3000;
    while (hostPidOf(marker) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(hostPidOf(marker), undefined, 'the escaped grandchild is gone');
  });

  it("limits an instance's /tmp to its size, and nothing written survives the instance", async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'filler',
        code: Buffer.from(
          'import os\ndef handler(event):\n    before = os.listdir("/tmp")\n    try:\n        with open("/tmp/fill", "wb") as f:\n            f.write(b"x" * (32 * 1024 * 1024))\n        return {"before": before, "wrote": True}\n    except OSError as error:\n        os._exit(0) if event == "exit" else None\n        return {"before": before, "errno": error.errno}\n',
        ),
      }),
    );
    const first = json((await invoke('filler', 'stay')).output);
    assert.deepEqual(first, { before: [], errno: 28 }, 'ENOSPC at the 16 MiB limit');
    await invoke('filler', 'exit');
    const fresh = json((await invoke('filler', 'stay')).output);
    assert.deepEqual(fresh['before'], [], 'a new instance starts with an empty /tmp');
  });

  it('bounds the processes of an instance (pids cgroup)', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'forker',
        code: Buffer.from(
          'import os, time\ndef handler(event):\n    made = 0\n    try:\n        for _ in range(1000):\n            if os.fork() == 0:\n                time.sleep(5)\n                os._exit(0)\n            made += 1\n    except OSError as error:\n        return {"made": made, "errno": error.errno}\n    return {"made": made}\n',
        ),
      }),
    );
    const report = json((await invoke('forker')).output);
    assert.equal(report['errno'], 11, 'EAGAIN past pids.max');
    assert.ok((report['made'] as number) < 64);
  });
});

describe('hardening: node-wide caps', { skip: !isRoot && 'needs root for the full sandbox' }, () => {
  const fx = useNova({ NOVA_MAX_INSTANCES: '3' });

  it('stops the least recently used idle instance of another function to make room, and refuses when none is idle', async () => {
    for (const name of ['cap-a', 'cap-b', 'cap-c', 'cap-d']) {
      await fx.cp.createFunction(createRequest({ name }));
    }
    const call = (name: string) =>
      fx.dp.invoke({ function: name, payload: Buffer.from('{}'), timeoutS: 0, metadata: {} });
    for (const name of ['cap-a', 'cap-b', 'cap-c']) assert.equal((await call(name)).error, '');
    const fourth = await call('cap-d');
    assert.equal(fourth.error, '');
    assert.equal((await call('cap-b')).coldStart, false, 'b and c stayed warm');
    assert.equal((await call('cap-a')).coldStart, true, 'a, the least recently used, was stopped');

    await fx.cp.createFunction(
      createRequest({
        name: 'cap-busy',
        maxReplicas: 5,
        code: Buffer.from('import time\ndef handler(event):\n    time.sleep(1)\n    return 1\n'),
      }),
    );
    const results = await Promise.all(Array.from({ length: 5 }, () => statusOf(call('cap-busy'))));
    const refused = results.filter((result) => result.code === status.RESOURCE_EXHAUSTED);
    assert.ok(refused.length >= 2, `${refused.length} refused`);
    assert.match(refused[0]!.details, /NOVA_MAX_INSTANCES/);
  });
});
