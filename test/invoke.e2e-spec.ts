import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { callsOf, outputJson, outputText, useNova } from './support/fixture.js';
import { echoWasm } from './support/wasm-modules.js';
import { zip } from './support/zip.js';
import { statusOf } from './support/grpc-status.js';

describe('nova.v1.DataPlane: invoking functions in each runtime, and their errors', () => {
  const fx = useNova({}, { checkCleanExit: true });
  const { create, invoke } = callsOf(fx);

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
      assert.deepEqual(outputJson(first), { message: 'hello' });
      assert.equal(first.error, '');
      assert.equal(first.coldStart, true);
      assert.match(first.requestId, /^[0-9a-f-]{36}$/);
      const second = await invoke('hello-world', '{"name": "Alice"}');
      assert.deepEqual(outputJson(second), { message: 'hello' });
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
      assert.deepEqual(outputJson(response), {
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
      assert.equal(outputText(response), 'NOT JSON!');
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
      assert.deepEqual(outputJson(response), { got: { n: 1 }, fn: 'node-cjs', id: response.requestId, mem: 128 });
    });

    it('node: an ES module, and module.func in a zip', async () => {
      await create({
        name: 'node-esm',
        runtime: 'node',
        handler: 'main',
        code: Buffer.from('export function main(event) { return `hi ${event.name}`; }\n'),
      });
      assert.equal(outputJson(await invoke('node-esm', '{"name": "Bob"}')), 'hi Bob');
      await create({
        name: 'node-zip',
        runtime: 'node',
        handler: 'lib.calc.add',
        code: zip({
          'lib/calc.mjs': "import { base } from './base.mjs';\nexport const add = (e) => base + e.x;\n",
          'lib/base.mjs': 'export const base = 40;\n',
        }),
      });
      assert.equal(outputJson(await invoke('node-zip', '{"x": 2}')), 42);
    });

    it('wasm: stdin is the payload, stdout the output, stderr the log, non-zero exit a function error', async () => {
      await create({ name: 'wasm-echo', runtime: 'wasm', handler: '_start', code: await echoWasm() });
      const response = await invoke('wasm-echo', 'hello wasm');
      assert.equal(outputText(response), 'hello wasm');
      assert.equal(response.error, '');
      const detail = await fx.dp.getInvocation({ id: response.requestId });
      assert.equal(detail.log, 'echoed by wasm\n');
      const failed = await invoke('wasm-echo', 'xyz');
      assert.equal(failed.error, 'WasmExit: exit code 3');
      assert.equal(outputText(await invoke('wasm-echo', 'again')), 'again', 'the instance serves on after a failure');
    });

    it('lists exactly python, node and wasm with real versions', async () => {
      const { runtimes } = await fx.cp.listRuntimes({});
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
      const detail = await fx.dp.getInvocation({ id: response.requestId });
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
      await create({ name: 'bad-requests' });
      assert.equal((await statusOf(invoke('no-such-function'))).code, status.NOT_FOUND);
      assert.equal((await statusOf(invoke(''))).code, status.INVALID_ARGUMENT);
      const tooBig = await statusOf(invoke('bad-requests', Buffer.alloc(6 * 1024 * 1024 + 1, 0x61)));
      assert.equal(tooBig.code, status.INVALID_ARGUMENT);
      assert.match(tooBig.details, /^payload: /);
      assert.equal((await statusOf(invoke('bad-requests', '', { timeoutS: -1 }))).code, status.INVALID_ARGUMENT);
    });

    it('accepts a 6 MiB payload and refuses an output over 6 MiB with RESOURCE_EXHAUSTED', async () => {
      await create({ name: 'py-size', code: Buffer.from('def handler(event):\n    return b"x" * (len(event) + 1)\n') });
      const six = await invoke('py-size', Buffer.alloc(6 * 1024 * 1024 - 1, 0x61));
      assert.equal(Buffer.from(six.output).length, 6 * 1024 * 1024);
      const over = await statusOf(invoke('py-size', Buffer.alloc(6 * 1024 * 1024, 0x61)));
      assert.equal(over.code, status.RESOURCE_EXHAUSTED);
    });
  });
});
