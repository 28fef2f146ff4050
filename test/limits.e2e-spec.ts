import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { dataPlane } from '#proto';
import { callsOf, outputJson, outputText, useNova } from './support/fixture.js';
import { statusOf } from './support/grpc-status.js';
import { pythonInstanceMarker } from './support/instances.js';

const isRoot = process.getuid?.() === 0;

describe('nova.v1.DataPlane: limits and isolation', () => {
  const fx = useNova({ NOVA_SECRET_FOR_TEST: 'must-not-leak' });
  const { create, invoke } = callsOf(fx);

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
      assert.equal(outputText(next), '"woke"');
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
      await create({ name: 'bystander' });
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
      const bystander = (): Promise<dataPlane.InvokeResponse> => invoke('bystander');
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
      assert.deepEqual(outputJson(other), { message: 'hello' });
      assert.equal(outputText(await invoke('py-hog', '"ok"')), '"fine"', 'a new instance replaces the killed one');
      assert.equal(outputText(await invoke('node-hog', '"ok"')), '"fine"');
    });

    it('recovers from an instance that exits during a call', async () => {
      await create({
        name: 'py-exits',
        code: Buffer.from(
          pythonInstanceMarker +
            'import os\ndef handler(event):\n    if event == "die":\n        os._exit(3)\n    return MARKER\n',
        ),
      });
      const pid = outputJson(await invoke('py-exits', '"pid"'));
      const died = await invoke('py-exits', '"die"');
      assert.match(died.error, /^RuntimeExitError: the instance exited during the call \(code 3\)/);
      const after = await invoke('py-exits', '"pid"');
      assert.equal(after.coldStart, true);
      assert.notEqual(outputJson(after), pid);
    });

    it('captures what the handler prints as the log, truncated at 64 KiB', async () => {
      await create({
        name: 'py-logs',
        code: Buffer.from(
          'import sys\ndef handler(event):\n    print("to stdout")\n    print("to stderr", file=sys.stderr)\n    print("y" * event)\n    return "done"\n',
        ),
      });
      const small = await invoke('py-logs', '3');
      assert.equal((await fx.dp.getInvocation({ id: small.requestId })).log, 'to stdout\nto stderr\nyyy\n');
      const big = await invoke('py-logs', String(200 * 1024));
      const log = (await fx.dp.getInvocation({ id: big.requestId })).log;
      assert.ok(Buffer.byteLength(log) <= 64 * 1024 + 100, `log is ${Buffer.byteLength(log)} bytes`);
      assert.match(log, /\n\[log truncated at 64 KiB\]$/);
      await create({
        name: 'node-logs',
        runtime: 'node',
        code: Buffer.from('exports.handler = () => { console.log("from node", 1); console.error("oops"); return 1; };'),
      });
      const node = await invoke('node-logs');
      assert.equal((await fx.dp.getInvocation({ id: node.requestId })).log, 'from node 1\noops\n');
    });
  });

  describe('isolation', () => {
    it("gives a function only its env vars and a minimal environment, never Nova's", async () => {
      await create({
        name: 'py-env',
        envVars: { GREETING: 'hi' },
        code: Buffer.from('import os\ndef handler(event):\n    return dict(os.environ)\n'),
      });
      const env = outputJson(await invoke('py-env')) as Record<string, string>;
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
      const nodeEnv = outputJson(await invoke('node-env')) as string[];
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
        const victimCode = outputJson(await invoke('victim')) as string;
        const dataDir = fx.database.dataDir;
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
        const report = outputJson(
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
          String(outputJson(await invoke('node-snoop', JSON.stringify({ dataDir })))),
          /^(EACCES|ERR_ACCESS_DENIED|ENOENT)$/,
        );
      },
    );
  });
});
