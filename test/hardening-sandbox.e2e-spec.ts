import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chown,
  lchown,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createControlPlaneClient, createDataPlaneClient } from '#proto';
import { createTestDatabase, startNova } from './support/nova-process.js';
import { createRequest, updateRequest, invokeRequest } from './support/requests.js';
import { useNova } from './support/fixture.js';
import { statusOf } from './support/grpc-status.js';
import { HitCounter } from './support/hit-counter.js';
import { hostPidOf, pythonInstanceMarker } from './support/instances.js';
import { waitUntil } from './support/wait.js';

const isRoot = process.getuid?.() === 0;

/** Forks a sleeping, setsid'd grandchild named by the event, and returns at once. */
const leaveEscapee = Buffer.from(
  'import ctypes, os, time\ndef handler(event):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            ctypes.CDLL(None).prctl(15, event.encode(), 0, 0, 0)\n            time.sleep(3600)\n        os._exit(0)\n    return "left"\n',
);

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
    fx.dp.invoke(invokeRequest(fn, Buffer.from(JSON.stringify(event))));
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

  it('kills escapees left by a call that returned when their function is deleted', async () => {
    await fx.cp.createFunction(createRequest({ name: 'escapee-deleted', code: leaveEscapee }));
    const marker = `del${process.pid % 100000}`;
    assert.equal((await invoke('escapee-deleted', marker)).error, '');
    await waitUntil('the escapee to run', () => hostPidOf(marker) !== undefined, 3000);
    await fx.cp.deleteFunction({ name: 'escapee-deleted' });
    await waitUntil('the process to be gone', () => hostPidOf(marker) === undefined, 5000);
  });

  it('stops an idle instance whose handler left a thread burning CPU', async () => {
    await fx.cp.createFunction(
      createRequest({
        name: 'idle-burner',
        code: Buffer.from(
          `${pythonInstanceMarker}import threading\ndef spin():\n    while True: pass\ndef handler(event):\n    threading.Thread(target=spin, daemon=True).start()\n    return MARKER\n`,
        ),
      }),
    );
    const first = await invoke('idle-burner');
    const marker = JSON.parse(Buffer.from(first.output).toString()) as string;
    assert.ok(hostPidOf(marker) !== undefined, 'the instance runs');
    // The watchdog's own word first: a process missing from one read of /proc proves nothing.
    await waitUntil(
      'the watchdog to stop the idle instance',
      () =>
        fx.nova
          .logLines()
          .some((line) => line['msg'] === 'instance used CPU while idle (its handler left work running); stopping it'),
      10_000,
    );
    await waitUntil('the idle instance to be gone', () => hostPidOf(marker) === undefined, 5_000);
    const second = await invoke('idle-burner');
    assert.equal(second.coldStart, true, 'the next call gets a fresh instance');
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

  it('refuses replica settings the node cannot hold', async () => {
    const result = await statusOf(fx.cp.createFunction(createRequest({ name: 'cap-big', maxReplicas: 4 })));
    assert.equal(result.code, status.INVALID_ARGUMENT);
    assert.match(result.details, /^max_replicas: .*NOVA_MAX_INSTANCES/);
    const defaulted = await fx.cp.createFunction(createRequest({ name: 'cap-default' }));
    assert.equal(defaulted.maxReplicas, 3, 'the default max_replicas is the node cap when that is lower');
    await fx.cp.deleteFunction({ name: 'cap-default' });
  });

  it('stops the least recently used idle instance of another function to make room, and refuses when none is idle', async () => {
    for (const name of ['cap-a', 'cap-b', 'cap-c', 'cap-d']) {
      await fx.cp.createFunction(createRequest({ name }));
    }
    const call = (name: string) => fx.dp.invoke(invokeRequest(name, Buffer.from('{}')));
    for (const name of ['cap-a', 'cap-b', 'cap-c']) assert.equal((await call(name)).error, '');
    const fourth = await call('cap-d');
    assert.equal(fourth.error, '');
    assert.equal((await call('cap-b')).coldStart, false, 'b and c stayed warm');
    assert.equal((await call('cap-a')).coldStart, true, 'a, the least recently used, was stopped');

    const slow = Buffer.from('import time\ndef handler(event):\n    time.sleep(1)\n    return 1\n');
    await fx.cp.createFunction(createRequest({ name: 'cap-busy-1', maxReplicas: 2, code: slow }));
    await fx.cp.createFunction(createRequest({ name: 'cap-busy-2', maxReplicas: 2, code: slow }));
    const results = await Promise.all(
      ['cap-busy-1', 'cap-busy-1', 'cap-busy-2', 'cap-busy-2'].map((name) => statusOf(call(name))),
    );
    const refused = results.filter((result) => result.code === status.RESOURCE_EXHAUSTED);
    assert.ok(refused.length >= 1, `${refused.length} refused`);
    assert.match(refused[0]!.details, /NOVA_MAX_INSTANCES/);
  });
});

describe('hardening: what a function leaves behind and what it finds', { skip: !isRoot && 'needs root' }, () => {
  it('escapees die with the node when Nova is killed with SIGKILL', async () => {
    const database = await createTestDatabase();
    const nova = await startNova({ env: database.env });
    const cp = createControlPlaneClient({ address: nova.address });
    const dp = createDataPlaneClient({ address: nova.address });
    try {
      await cp.createFunction(
        createRequest({
          name: 'outlive',
          code: leaveEscapee,
        }),
      );
      const marker = `kil${process.pid % 100000}`;
      await dp.invoke(invokeRequest('outlive', Buffer.from(JSON.stringify(marker))));
      await waitUntil('the escapee to run', () => hostPidOf(marker) !== undefined, 3000);
      nova.child.kill('SIGKILL');
      await nova.exited;
      await waitUntil('the process to be gone', () => hostPidOf(marker) === undefined, 5000);
    } finally {
      cp.close();
      dp.close();
      await stopOrphanedPostgres(database.dataDir);
      await database.dispose();
    }
  });

  it('never adopts a planted sandbox root, nor follows a link planted in one', async () => {
    const victim = join(tmpdir(), `nova-victim-${randomBytes(4).toString('hex')}`);
    await writeFile(victim, 'secret', { mode: 0o600 });
    const nobody = 65534;
    // Where an old Nova would have put its root, and what the new prefix looks like.
    const planted = [
      join(tmpdir(), `nova-${randomBytes(8).toString('hex')}-${process.pid + 1}`),
      join(tmpdir(), `nova-sandbox-${randomBytes(3).toString('hex')}`),
    ];
    for (const dir of planted) {
      await mkdir(join(dir, 'code'), { recursive: true, mode: 0o777 });
      await writeFile(join(dir, '.owner'), '999999999');
      await symlink(victim, join(dir, 'code', 'link'));
      await symlink(victim, join(dir, 'functions'));
      for (const path of [dir, join(dir, 'code'), join(dir, '.owner')]) await chown(path, nobody, nobody);
      await lchown(join(dir, 'code', 'link'), nobody, nobody);
    }
    const database = await createTestDatabase();
    const nova = await startNova({ env: database.env });
    const cp = createControlPlaneClient({ address: nova.address });
    const dp = createDataPlaneClient({ address: nova.address });
    try {
      await cp.createFunction(createRequest({ name: 'planted' }));
      assert.equal((await dp.invoke(invokeRequest('planted', Buffer.from('{}')))).error, '');
      const ownRoots = [];
      for (const name of await readdir(tmpdir())) {
        if (!name.startsWith('nova-sandbox-')) continue;
        const owner = await readFile(join(tmpdir(), name, '.owner'), 'utf8').catch(() => '');
        if (owner === String(nova.child.pid)) ownRoots.push(join(tmpdir(), name));
      }
      assert.equal(ownRoots.length, 1, 'one root of its own');
      assert.ok(!planted.includes(ownRoots[0]!), 'not a planted one');
      const root = await stat(ownRoots[0]!);
      assert.equal(root.uid, 0);
      assert.equal(root.mode & 0o777, 0o711);
    } finally {
      cp.close();
      dp.close();
      await nova.stop();
      await database.dispose();
    }
    const victimAfter = await stat(victim);
    assert.deepEqual(
      [victimAfter.uid, victimAfter.gid, victimAfter.mode & 0o777],
      [0, 0, 0o600],
      'the victim is untouched',
    );
    for (const dir of planted) {
      assert.equal((await lstat(dir)).uid, nobody, 'the planted directory was left alone');
      assert.equal(await readlink(join(dir, 'code', 'link')), victim);
      await rm(dir, { recursive: true, force: true });
    }
    await rm(victim, { force: true });
  });
});

/** After a SIGKILL nobody stopped the embedded PostgreSQL: stop it by its pid file. */
async function stopOrphanedPostgres(dataDir: string): Promise<void> {
  const pid = Number(
    (await readFile(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0],
  );
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  await waitUntil(
    'PostgreSQL to stop',
    () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    15_000,
  );
}
