import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { isProcessAlive } from '#storage';
import { createControlPlaneClient, createDataPlaneClient, type controlPlane, type dataPlane } from '#proto';
import { createTestDatabase, startNova, type NovaProcess, type TestDatabase } from './support/nova-process.js';
import { createRequest, updateRequest } from './support/requests.js';
import { echoWasm } from './support/wasm-modules.js';
import { zip } from './support/zip.js';
import { statusOf } from './support/grpc-status.js';
import { hostPidOf, pythonInstanceMarker } from './support/instances.js';

const isRoot = process.getuid?.() === 0;

function text(response: dataPlane.InvokeResponse): string {
  return Buffer.from(response.output).toString('utf8');
}

function json(response: dataPlane.InvokeResponse): unknown {
  return JSON.parse(text(response)) as unknown;
}

/** Processes whose parent is pid, from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

describe('nova.v1.DataPlane: running functions', () => {
  let database: TestDatabase;
  let nova: NovaProcess;
  let cp: ReturnType<typeof createControlPlaneClient>;
  let dp: ReturnType<typeof createDataPlaneClient>;

  const create = (overrides: Partial<controlPlane.CreateFunctionRequest>): Promise<controlPlane.FunctionInfo> =>
    cp.createFunction(createRequest(overrides));
  const invoke = (
    fn: string,
    payload: string | Buffer = '',
    overrides: Partial<dataPlane.InvokeRequest> = {},
  ): Promise<dataPlane.InvokeResponse> =>
    dp.invoke({ function: fn, payload: Buffer.from(payload), timeoutS: 0, metadata: {}, ...overrides });

  before(async () => {
    database = await createTestDatabase();
    nova = await startNova({ env: { ...database.env, NOVA_SECRET_FOR_TEST: 'must-not-leak' } });
    cp = createControlPlaneClient({ address: nova.address });
    dp = createDataPlaneClient({ address: nova.address });
  });

  after(async () => {
    cp.close();
    dp.close();
    const children = childrenOf(nova.child.pid!);
    assert.ok(children.length > 0, 'the server had started runtime processes');
    assert.equal(await nova.stop(), 0);
    const left = children.filter(isProcessAlive);
    assert.deepEqual(left, [], 'no runtime process outlives the server');
    await database.dispose();
  });

  describe('the seed example', () => {
    it('returns {"message": "hello"}, cold the first time and warm the next', async () => {
      await create({
        name: 'hello-world',
        runtime: 'python',
        handler: 'handler',
        code: Buffer.from("def handler(event): return {'message': 'hello'}"),
        memoryMb: 128,
        timeoutS: 30,
      });
      const first = await invoke('hello-world', '{"name": "Alice"}');
      assert.deepEqual(json(first), { message: 'hello' });
      assert.equal(first.error, '');
      assert.equal(first.coldStart, true);
      assert.match(first.requestId, /^[0-9a-f-]{36}$/);
      const second = await invoke('hello-world', '{"name": "Alice"}');
      assert.deepEqual(json(second), { message: 'hello' });
      assert.equal(second.coldStart, false);
    });
  });

  describe('runtimes', () => {
    it('python: event and context, handler(event, context)', async () => {
      await create({
        name: 'py-context',
        code: Buffer.from(
          [
            'def handler(event, context):',
            '    return {"event": event, "request_id": context.request_id, "function": context.function_name,',
            '            "version": context.version, "memory": context.memory_limit_mb,',
            '            "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 30000, "metadata": context.metadata}',
          ].join('\n'),
        ),
      });
      const response = await invoke('py-context', '{"a": [1, 2]}', { metadata: { tenant: 't1' } });
      assert.deepEqual(json(response), {
        event: { a: [1, 2] },
        request_id: response.requestId,
        function: 'py-context',
        version: 1,
        memory: 128,
        remaining_ok: true,
        metadata: { tenant: 't1' },
      });
    });

    it('python: raw payloads, bytes returned as they are, module.func in a zip', async () => {
      await create({
        name: 'py-zip',
        handler: 'pkg.tools.run',
        code: zip({
          'pkg/__init__.py': '',
          'pkg/tools.py': 'from pkg.helper import shout\ndef run(event):\n    return shout(event).encode()\n',
          'pkg/helper.py': 'def shout(text):\n    return text.upper() + "!"\n',
        }),
      });
      const response = await invoke('py-zip', 'not json');
      assert.equal(text(response), 'NOT JSON!');
    });

    it('node: CommonJS, an async handler with context', async () => {
      await create({
        name: 'node-cjs',
        runtime: 'node',
        code: Buffer.from(
          'exports.handler = async (event, context) => ({ got: event, fn: context.functionName, id: context.requestId, mem: context.memoryLimitMb });',
        ),
      });
      const response = await invoke('node-cjs', '{"n": 1}');
      assert.deepEqual(json(response), { got: { n: 1 }, fn: 'node-cjs', id: response.requestId, mem: 128 });
    });

    it('node: an ES module, and module.func in a zip', async () => {
      await create({
        name: 'node-esm',
        runtime: 'node',
        handler: 'main',
        code: Buffer.from('export function main(event) { return `hi ${event.name}`; }\n'),
      });
      assert.equal(json(await invoke('node-esm', '{"name": "Bob"}')), 'hi Bob');
      await create({
        name: 'node-zip',
        runtime: 'node',
        handler: 'lib.calc.add',
        code: zip({
          'lib/calc.mjs': "import { base } from './base.mjs';\nexport const add = (e) => base + e.x;\n",
          'lib/base.mjs': 'export const base = 40;\n',
        }),
      });
      assert.equal(json(await invoke('node-zip', '{"x": 2}')), 42);
    });

    it('wasm: stdin is the payload, stdout the output, stderr the log, non-zero exit a function error', async () => {
      await create({ name: 'wasm-echo', runtime: 'wasm', handler: '_start', code: await echoWasm() });
      const response = await invoke('wasm-echo', 'hello wasm');
      assert.equal(text(response), 'hello wasm');
      assert.equal(response.error, '');
      const detail = await dp.getInvocation({ id: response.requestId });
      assert.equal(detail.log, 'echoed by wasm\n');
      const failed = await invoke('wasm-echo', 'xyz');
      assert.equal(failed.error, 'WasmExit: exit code 3');
      assert.equal(text(await invoke('wasm-echo', 'again')), 'again', 'the instance serves on after a failure');
    });

    it('lists exactly python, node and wasm with real versions', async () => {
      const { runtimes } = await cp.listRuntimes({});
      assert.deepEqual(runtimes.map((runtime) => runtime.id).sort(), ['node', 'python', 'wasm']);
      const python = runtimes.find((runtime) => runtime.id === 'python');
      assert.match(python?.version ?? '', /^3\.\d+\.\d+$/);
    });
  });

  describe('errors', () => {
    it('a handler that raises: OK with "ExceptionType: message", recorded as failed with its traceback', async () => {
      await create({
        name: 'py-raises',
        code: Buffer.from(
          'def handler(event):\n    print("about to fail")\n    raise ValueError("bad input: " + str(event))\n',
        ),
      });
      const response = await invoke('py-raises', '7');
      assert.equal(response.error, 'ValueError: bad input: 7');
      assert.equal(Buffer.from(response.output).length, 0);
      const detail = await dp.getInvocation({ id: response.requestId });
      assert.equal(detail.success, false);
      assert.equal(detail.error, 'ValueError: bad input: 7');
      assert.match(detail.log, /about to fail\nTraceback \(most recent call last\):[\s\S]*ValueError: bad input: 7/);
      await create({
        name: 'node-throws',
        runtime: 'node',
        code: Buffer.from('exports.handler = async () => { throw new TypeError("nope"); };'),
      });
      assert.equal((await invoke('node-throws')).error, 'TypeError: nope');
    });

    it('code that fails to import is a function error of the cold call', async () => {
      await create({ name: 'py-syntax', code: Buffer.from('def handler(event) return 1\n') });
      const response = await invoke('py-syntax');
      assert.match(response.error, /^SyntaxError: /);
      assert.equal(response.coldStart, true);
      await create({ name: 'py-no-handler', handler: 'main', code: Buffer.from('def other(event): pass\n') });
      assert.match((await invoke('py-no-handler')).error, /^AttributeError: .*has no function 'main'/);
    });

    it('answers NOT_FOUND for an unknown function and INVALID_ARGUMENT for bad requests', async () => {
      assert.equal((await statusOf(invoke('no-such-function'))).code, status.NOT_FOUND);
      assert.equal((await statusOf(invoke(''))).code, status.INVALID_ARGUMENT);
      const tooBig = await statusOf(invoke('hello-world', Buffer.alloc(6 * 1024 * 1024 + 1, 0x61)));
      assert.equal(tooBig.code, status.INVALID_ARGUMENT);
      assert.match(tooBig.details, /^payload: /);
      assert.equal((await statusOf(invoke('hello-world', '', { timeoutS: -1 }))).code, status.INVALID_ARGUMENT);
    });

    it('accepts a 6 MiB payload and refuses an output over 6 MiB with RESOURCE_EXHAUSTED', async () => {
      await create({ name: 'py-size', code: Buffer.from('def handler(event):\n    return b"x" * (len(event) + 1)\n') });
      const six = await invoke('py-size', Buffer.alloc(6 * 1024 * 1024 - 1, 0x61));
      assert.equal(Buffer.from(six.output).length, 6 * 1024 * 1024);
      const over = await statusOf(invoke('py-size', Buffer.alloc(6 * 1024 * 1024, 0x61)));
      assert.equal(over.code, status.RESOURCE_EXHAUSTED);
    });
  });

  describe('limits', () => {
    it('stops a call at its timeout with DEADLINE_EXCEEDED within timeout + 1 s, and replaces the instance', async () => {
      await create({
        name: 'py-sleeps',
        timeoutS: 1,
        code: Buffer.from('import time\ndef handler(event):\n    time.sleep(event)\n    return "woke"\n'),
      });
      const started = Date.now();
      const timedOut = await statusOf(invoke('py-sleeps', '30'));
      const elapsed = Date.now() - started;
      assert.equal(timedOut.code, status.DEADLINE_EXCEEDED);
      assert.ok(elapsed < 2000, `failed after ${elapsed} ms`);
      const next = await invoke('py-sleeps', '0');
      assert.equal(text(next), '"woke"');
      assert.equal(next.coldStart, true, 'the killed instance was replaced');
      await create({
        name: 'node-spins',
        runtime: 'node',
        timeoutS: 2,
        code: Buffer.from('exports.handler = () => { for (;;) {} };'),
      });
      const spinStart = Date.now();
      assert.equal((await statusOf(invoke('node-spins', '', { timeoutS: 1 }))).code, status.DEADLINE_EXCEEDED);
      assert.ok(Date.now() - spinStart < 2000, 'the request timeout_s wins when smaller');
    });

    it('fails a function that allocates 1 GiB with memory_mb 128 alone, while others keep answering', async () => {
      await create({
        name: 'py-hog',
        memoryMb: 128,
        code: Buffer.from(
          'def handler(event):\n    if event == "hog":\n        x = bytearray(1024 * 1024 * 1024)\n    return "fine"\n',
        ),
      });
      await create({
        name: 'node-hog',
        runtime: 'node',
        memoryMb: 128,
        code: Buffer.from(
          'exports.handler = (event) => { if (event === "hog") { const a = []; for (let i = 0; i < 1024; i++) a.push(Buffer.alloc(1024 * 1024, 1)); } return "fine"; };',
        ),
      });
      await create({
        name: 'node-heap-hog',
        runtime: 'node',
        memoryMb: 128,
        code: Buffer.from(
          'exports.handler = () => { const a = []; for (;;) a.push({ i: a.length, s: "x".repeat(100) }); };',
        ),
      });
      const bystander = (): Promise<dataPlane.InvokeResponse> => invoke('hello-world');
      const [py, node, heap, other] = await Promise.all([
        statusOf(invoke('py-hog', '"hog"')),
        statusOf(invoke('node-hog', '"hog"')),
        statusOf(invoke('node-heap-hog')),
        bystander(),
      ]);
      for (const [name, result] of [
        ['python', py],
        ['node buffers', node],
        ['node heap', heap],
      ] as const) {
        assert.equal(result.code, status.RESOURCE_EXHAUSTED, `${name}: ${result.details}`);
        assert.match(result.details, /memory limit of 128 MiB/, name);
      }
      assert.deepEqual(json(other), { message: 'hello' });
      assert.equal(text(await invoke('py-hog', '"ok"')), '"fine"', 'a new instance replaces the killed one');
      assert.equal(text(await invoke('node-hog', '"ok"')), '"fine"');
    });

    it('recovers from an instance that exits during a call', async () => {
      await create({
        name: 'py-exits',
        code: Buffer.from(
          pythonInstanceMarker +
            'import os\ndef handler(event):\n    if event == "die":\n        os._exit(3)\n    return MARKER\n',
        ),
      });
      const pid = json(await invoke('py-exits', '"pid"'));
      const died = await invoke('py-exits', '"die"');
      assert.match(died.error, /^RuntimeExitError: the instance exited during the call \(code 3\)/);
      const after = await invoke('py-exits', '"pid"');
      assert.equal(after.coldStart, true);
      assert.notEqual(json(after), pid);
    });

    it('captures what the handler prints as the log, truncated at 64 KiB', async () => {
      await create({
        name: 'py-logs',
        code: Buffer.from(
          'import sys\ndef handler(event):\n    print("to stdout")\n    print("to stderr", file=sys.stderr)\n    print("y" * event)\n    return "done"\n',
        ),
      });
      const small = await invoke('py-logs', '3');
      assert.equal((await dp.getInvocation({ id: small.requestId })).log, 'to stdout\nto stderr\nyyy\n');
      const big = await invoke('py-logs', String(200 * 1024));
      const log = (await dp.getInvocation({ id: big.requestId })).log;
      assert.ok(Buffer.byteLength(log) <= 64 * 1024 + 100, `log is ${Buffer.byteLength(log)} bytes`);
      assert.match(log, /\n\[log truncated at 64 KiB\]$/);
      await create({
        name: 'node-logs',
        runtime: 'node',
        code: Buffer.from('exports.handler = () => { console.log("from node", 1); console.error("oops"); return 1; };'),
      });
      const node = await invoke('node-logs');
      assert.equal((await dp.getInvocation({ id: node.requestId })).log, 'from node 1\noops\n');
    });
  });

  describe('isolation', () => {
    it("gives a function only its env vars and a minimal environment, never Nova's", async () => {
      await create({
        name: 'py-env',
        envVars: { GREETING: 'hi' },
        code: Buffer.from('import os\ndef handler(event):\n    return dict(os.environ)\n'),
      });
      const env = json(await invoke('py-env')) as Record<string, string>;
      assert.equal(env['GREETING'], 'hi');
      assert.equal(env['FUNCTION_NAME'], 'py-env');
      assert.equal(env['FUNCTION_VERSION'], '1');
      assert.ok(env['HOME'] && env['HOME'] !== process.env['HOME']);
      for (const key of Object.keys(env)) {
        assert.ok(!key.startsWith('NOVA_'), `${key} leaked`);
        assert.notEqual(key, 'DATABASE_URL');
      }
      assert.deepEqual(Object.keys(env).sort(), [
        'FUNCTION_MEMORY_MB',
        'FUNCTION_NAME',
        'FUNCTION_VERSION',
        'GREETING',
        'HOME',
        'LANG',
        'PATH',
        'TMPDIR',
      ]);
      await create({
        name: 'node-env',
        runtime: 'node',
        code: Buffer.from('exports.handler = () => Object.keys(process.env).sort();'),
      });
      const nodeEnv = json(await invoke('node-env')) as string[];
      assert.ok(!nodeEnv.some((key) => key.startsWith('NOVA_') || key === 'DATABASE_URL'), nodeEnv.join(','));
    });

    it(
      "keeps Nova's data directory and other functions' code out of reach",
      { skip: !isRoot && 'needs root to run functions as their own users' },
      async () => {
        await create({
          name: 'victim',
          code: Buffer.from(
            'import os\nSECRET = "victim-code"\ndef handler(event): return os.path.abspath(__file__)\n',
          ),
        });
        const victimCode = json(await invoke('victim')) as string;
        const dataDir = database.dataDir;
        await create({
          name: 'snoop',
          code: Buffer.from(
            [
              'import os',
              'def attempt(action):',
              '    try:',
              '        action()',
              '        return "allowed"',
              '    except OSError:  # denied, or not even there to see',
              '        return "denied"',
              'def handler(event):',
              '    return {',
              '        "uid": os.getuid(),',
              '        "list_data_dir": attempt(lambda: os.listdir(event["dataDir"])),',
              '        "read_credentials": attempt(lambda: open(event["dataDir"] + "/postgres-credentials.json").read()),',
              '        "list_database": attempt(lambda: os.listdir(event["dataDir"] + "/postgres")),',
              '        "read_other_code": attempt(lambda: open(event["victimCode"]).read()),',
              '        "write_own_code": attempt(lambda: open(os.path.abspath(__file__), "a").write("x")),',
              '    }',
            ].join('\n'),
          ),
        });
        const report = json(
          await invoke(
            'snoop',
            JSON.stringify({
              dataDir,
              victimCode,
            }),
          ),
        ) as Record<string, unknown>;
        assert.notEqual(report['uid'], 0);
        assert.deepEqual(
          { ...report, uid: 'x' },
          {
            uid: 'x',
            list_data_dir: 'denied',
            read_credentials: 'denied',
            list_database: 'denied',
            read_other_code: 'denied',
            write_own_code: 'denied',
          },
        );
        await create({
          name: 'node-snoop',
          runtime: 'node',
          code: Buffer.from(
            'const fs = require("node:fs"); exports.handler = (e) => { try { fs.readdirSync(e.dataDir); return "allowed"; } catch (err) { return err.code; } };',
          ),
        });
        assert.match(
          String(json(await invoke('node-snoop', JSON.stringify({ dataDir })))),
          /^(EACCES|ERR_ACCESS_DENIED|ENOENT)$/,
        );
      },
    );
  });

  describe('pools', () => {
    it('runs 20 parallel calls on at most max_replicas instances, all succeeding', async () => {
      await create({
        name: 'py-parallel',
        maxReplicas: 3,
        code: Buffer.from(
          pythonInstanceMarker + 'import time\ndef handler(event):\n    time.sleep(0.1)\n    return MARKER\n',
        ),
      });
      const responses = await Promise.all(Array.from({ length: 20 }, () => invoke('py-parallel')));
      assert.ok(responses.every((response) => response.error === ''));
      const pids = new Set(responses.map((response) => json(response)));
      assert.ok(pids.size <= 3, `${pids.size} instances`);
      assert.ok(pids.size >= 2, 'calls did run in parallel');
      assert.equal(responses.filter((response) => response.coldStart).length, pids.size, 'one cold start per instance');
    });

    it('switches to a new code version without failing a call', async () => {
      await create({ name: 'py-rolling', code: Buffer.from('def handler(event): return 1\n') });
      let stop = false;
      const seen: unknown[] = [];
      const failures: string[] = [];
      const caller = (async () => {
        while (!stop) {
          try {
            const response = await invoke('py-rolling');
            if (response.error) failures.push(response.error);
            else seen.push(json(response));
          } catch (error) {
            failures.push(String(error));
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await cp.updateFunctionCode({ name: 'py-rolling', code: Buffer.from('def handler(event): return 2\n') });
      const deadline = Date.now() + 5000;
      while (seen.at(-1) !== 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 100));
      stop = true;
      await caller;
      assert.deepEqual(failures, []);
      assert.equal(seen[0], 1);
      assert.equal(seen.at(-1), 2);
      const firstTwo = seen.indexOf(2);
      assert.ok(
        seen.slice(firstTwo).every((value) => value === 2),
        'no call went to the old version after the switch',
      );
      const detail = await dp.listInvocations({ status: '', function: 'py-rolling', limit: 1, offset: 0 });
      assert.equal(detail.invocations[0]?.version, 2);
    });

    it('pre-warms min_replicas so that the first call is warm, and after an update', async () => {
      /** Waits until the node has `count` more idle instances than it had before. */
      const idle = async (): Promise<number> =>
        Number(/(\d+) idle/.exec((await dp.health({})).components['instances'] ?? '')?.[1] ?? -1);
      const waitForIdle = async (atLeast: number): Promise<void> => {
        const deadline = Date.now() + 10_000;
        while ((await idle()) < atLeast && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 25));
      };
      const before = await idle();
      await create({ name: 'py-prewarmed', minReplicas: 1, code: Buffer.from('def handler(event): return "ready"\n') });
      await waitForIdle(before + 1);
      const first = await invoke('py-prewarmed');
      assert.equal(first.coldStart, false, 'pre-warmed');
      await cp.updateFunction(updateRequest('py-prewarmed', { envVars: { V: '2' } }));
      // The old instance stops and a new one starts: wait for the new revision's instance.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await waitForIdle(before + 1);
      assert.equal((await invoke('py-prewarmed')).coldStart, false, 'pre-warmed again after the update');
    });

    it('applies new settings with new instances', async () => {
      await create({
        name: 'py-settings',
        envVars: { LEVEL: 'one' },
        code: Buffer.from('import os\ndef handler(event): return os.environ["LEVEL"]\n'),
      });
      assert.equal(json(await invoke('py-settings')), 'one');
      await cp.updateFunction(updateRequest('py-settings', { envVars: { LEVEL: 'two' } }));
      const deadline = Date.now() + 3000;
      let value: unknown = 'one';
      while (value !== 'two' && Date.now() < deadline) value = json(await invoke('py-settings'));
      assert.equal(value, 'two');
    });
  });

  describe('history and metrics', () => {
    it('records every invocation: ListInvocations and GetMetrics totals match the calls made', async () => {
      await create({
        name: 'py-counted',
        code: Buffer.from(
          'def handler(event):\n    if event == "fail":\n        raise RuntimeError("asked to")\n    return event\n',
        ),
      });
      const payloads = ['"a"', '"b"', '"fail"', '"c"', '"fail"', '"d"', '"e"'];
      const ids: string[] = [];
      for (const payload of payloads) ids.push((await invoke('py-counted', payload)).requestId);
      const page = await dp.listInvocations({ status: '', function: 'py-counted', limit: 0, offset: 0 });
      assert.equal(page.total, payloads.length);
      assert.deepEqual(
        page.invocations.map((inv) => inv.id),
        [...ids].reverse(),
        'newest first',
      );
      assert.deepEqual(
        page.invocations.map((inv) => inv.success).reverse(),
        payloads.map((p) => p !== '"fail"'),
      );
      assert.equal(page.invocations.filter((inv) => inv.coldStart).length, 1);
      for (const inv of page.invocations) {
        assert.equal(inv.functionName, 'py-counted');
        assert.equal(inv.log, '', 'listings leave logs out');
        assert.ok(Date.parse(inv.createdAt) > Date.now() - 60_000);
      }
      const paged = await dp.listInvocations({ status: '', function: 'py-counted', limit: 2, offset: 2 });
      assert.deepEqual(
        paged.invocations.map((inv) => inv.id),
        [ids[4], ids[3]],
      );
      assert.equal(paged.total, payloads.length);

      const metrics = await dp.getMetrics({ function: 'py-counted', rangeSeconds: 0 });
      assert.equal(metrics.totalInvocations, 7);
      assert.equal(metrics.successfulInvocations, 5);
      assert.equal(metrics.failedInvocations, 2);
      assert.ok(metrics.p50DurationMs <= metrics.p95DurationMs && metrics.p95DurationMs <= metrics.p99DurationMs);
      assert.ok(metrics.avgDurationMs >= 0);
      const all = await dp.listInvocations({ status: '', function: '', limit: 1000, offset: 0 });
      assert.ok(all.total >= page.total + 10);
    });

    it('answers NOT_FOUND for an unknown invocation or function, INVALID_ARGUMENT for bad ranges', async () => {
      assert.equal((await statusOf(dp.getInvocation({ id: 'no-such-id' }))).code, status.NOT_FOUND);
      assert.equal((await statusOf(dp.getMetrics({ function: 'nobody', rangeSeconds: 0 }))).code, status.NOT_FOUND);
      assert.equal((await statusOf(dp.getMetrics({ function: '', rangeSeconds: -1 }))).code, status.INVALID_ARGUMENT);
      assert.equal(
        (await statusOf(dp.listInvocations({ status: '', function: '', limit: 5000, offset: 0 }))).code,
        status.INVALID_ARGUMENT,
      );
    });
  });
});

describe('nova.v1.DataPlane: idle reaping and the queue', () => {
  let database: TestDatabase;
  let nova: NovaProcess;
  let cp: ReturnType<typeof createControlPlaneClient>;
  let dp: ReturnType<typeof createDataPlaneClient>;

  before(async () => {
    database = await createTestDatabase();
    nova = await startNova({ env: { ...database.env, NOVA_IDLE_TTL_S: '1', NOVA_QUEUE_LIMIT: '2' } });
    cp = createControlPlaneClient({ address: nova.address });
    dp = createDataPlaneClient({ address: nova.address });
  });

  after(async () => {
    cp.close();
    dp.close();
    await nova.stop();
    await database.dispose();
  });

  it('stops instances idle for longer than the idle TTL', async () => {
    await cp.createFunction(
      createRequest({
        name: 'reaped',
        code: Buffer.from(pythonInstanceMarker + 'def handler(event): return MARKER\n'),
      }),
    );
    const invoke = (): Promise<dataPlane.InvokeResponse> =>
      dp.invoke({ function: 'reaped', payload: Buffer.alloc(0), timeoutS: 0, metadata: {} });
    const first = await invoke();
    const warm = await invoke();
    assert.equal(warm.coldStart, false);
    const marker = JSON.parse(Buffer.from(first.output).toString()) as string;
    assert.ok(hostPidOf(marker), 'the instance process is found while it lives');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(hostPidOf(marker), undefined, 'the idle instance process is gone');
    const later = await invoke();
    assert.equal(later.coldStart, true);
  });

  it('queues calls past max_replicas and refuses them with RESOURCE_EXHAUSTED when the queue is full', async () => {
    await cp.createFunction(
      createRequest({
        name: 'narrow',
        maxReplicas: 1,
        code: Buffer.from('import time\ndef handler(event):\n    time.sleep(0.3)\n    return 1\n'),
      }),
    );
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        statusOf(dp.invoke({ function: 'narrow', payload: Buffer.alloc(0), timeoutS: 0, metadata: {} })),
      ),
    );
    const ok = results.filter((result) => result.code === status.OK).length;
    const refused = results.filter((result) => result.code === status.RESOURCE_EXHAUSTED);
    assert.equal(ok, 3, 'one running and two queued');
    assert.equal(refused.length, 3);
    assert.match(refused[0]?.details ?? '', /all 1 instances are busy and 2 calls are already waiting/);
  });
});
