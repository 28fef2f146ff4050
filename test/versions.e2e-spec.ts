import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { runCli, type CliResult } from './support/nova-process.js';
import { outputJson, useNova } from './support/fixture.js';
import { statusOf } from './support/grpc-status.js';
import { createRequest, invokeRequest } from './support/requests.js';
import { zip } from './support/zip.js';

// Issue 9, items 4 and 5: handlers that can change, versions that are not
// made twice for the same code, versions and aliases to call, canaries.
describe('versions, aliases and handlers', () => {
  const fx = useNova();
  let env: Record<string, string>;
  let dir: string;

  const cli = async (...args: string[]): Promise<CliResult> => {
    const result = await runCli(args, env);
    assert.equal(result.code, 0, `nova ${args.join(' ')}: ${result.stderr}`);
    return result;
  };
  const source = async (name: string, text: string | Buffer): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  /** A handler that answers which version of the code ran. */
  const answering = (tag: string): Promise<string> =>
    source(`${tag}.py`, `def handler(event):\n    print("log of ${tag}")\n    return "${tag}"\n`);
  const invokeJson = async (...args: string[]): Promise<{ output: unknown; version: number; log: string }> =>
    JSON.parse((await cli('invoke', ...args, '--json')).stdout) as { output: unknown; version: number; log: string };

  before(() => {
    env = { NOVA_ADDR: fx.nova.address };
    dir = fx.database.dataDir;
  });

  it('makes no version for the code and handler the latest version already has, and says so', async () => {
    await cli(
      'functions',
      'create',
      'same-code',
      '--runtime',
      'python',
      '--handler',
      'handler',
      '--code',
      await answering('v1'),
    );
    const again = await cli('functions', 'code', 'same-code', '--code', await answering('v1'));
    assert.match(again.stdout, /unchanged, still version 1 \(same code sha256 [0-9a-f]{64} and handler\)/);
    const json = JSON.parse(
      (await cli('functions', 'code', 'same-code', '--code', await answering('v1'), '--json')).stdout,
    ) as {
      version: number;
      unchanged: boolean;
    };
    assert.deepEqual([json.version, json.unchanged], [1, true]);
    const changed = await cli('functions', 'code', 'same-code', '--code', await answering('v2'));
    assert.match(changed.stdout, /version 2/);
    const versions = JSON.parse((await cli('functions', 'versions', 'same-code', '--json')).stdout) as unknown[];
    assert.equal(versions.length, 2);
  });

  it('changes the handler with `functions update --handler` and `functions code --handler`, each a new version', async () => {
    const twoHandlers = await source(
      'two.py',
      'def first(event): return "first"\ndef second(event): return "second"\n',
    );
    await cli('functions', 'create', 'handlers', '--runtime', 'python', '--handler', 'first', '--code', twoHandlers);
    assert.equal((await invokeJson('handlers')).output, 'first');

    const updated = JSON.parse(
      (await cli('functions', 'update', 'handlers', '--handler', 'second', '--json')).stdout,
    ) as {
      handler: string;
      version: number;
    };
    assert.deepEqual([updated.handler, updated.version], ['second', 2]);
    assert.equal((await invokeJson('handlers')).output, 'second');

    // New code with a handler in another module, in one step.
    const archive = await source('app.zip', zip({ 'app/main.py': 'def run(event): return "from app.main"\n' }));
    const moved = await cli('functions', 'code', 'handlers', '--code', archive, '--handler', 'app.main.run');
    assert.match(moved.stdout, /version 3/);
    assert.equal((await invokeJson('handlers')).output, 'from app.main');
    // Older versions keep the handler they were made with.
    assert.equal((await invokeJson('handlers', '--version', '1')).output, 'first');

    const table = (await cli('functions', 'versions', 'handlers')).stdout;
    assert.match(table, /^VERSION +HANDLER +CODE SHA256/m);
    assert.match(table, /^3 +app\.main\.run /m);
  });

  it('refuses a zip whose handler module is missing at create, naming the module it looked for', async () => {
    const archive = await source('main.zip', zip({ 'main.py': 'def handler(event): return 1\n' }));
    const refused = await runCli(
      ['functions', 'create', 'zip-bare', '--runtime', 'python', '--handler', 'handler', '--code', archive],
      env,
    );
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /handler: "handler" is function handler of module "function", but the zip has no function\.py or function\/__init__\.py; put the module in the handler, e.g\. "main\.handler" for main\.py/,
    );
    const nodeZip = await source('node.zip', zip({ 'lib/index.js': 'exports.handler = () => 1;\n' }));
    const node = await runCli(
      ['functions', 'create', 'zip-node', '--runtime', 'node', '--handler', 'app.handler', '--code', nodeZip],
      env,
    );
    assert.equal(node.code, 1);
    assert.match(node.stderr, /no app\.mjs or app\.cjs or app\.js or app\/index\.js/);
    // Named right, it is accepted and runs.
    await cli(
      'functions',
      'create',
      'zip-named',
      '--runtime',
      'python',
      '--handler',
      'main.handler',
      '--code',
      archive,
    );
    assert.equal((await invokeJson('zip-named')).output, 1);
    await cli(
      'functions',
      'create',
      'zip-node-dir',
      '--runtime',
      'node',
      '--handler',
      'lib.handler',
      '--code',
      nodeZip,
    );
    assert.equal((await invokeJson('zip-node-dir')).output, 1);

    // The same check holds when only the handler changes, or only the code.
    const badUpdate = await runCli(['functions', 'update', 'zip-named', '--handler', 'other.handler'], env);
    assert.equal(badUpdate.code, 1);
    assert.match(badUpdate.stderr, /no other\.py or other\/__init__\.py/);
    const otherZip = await source('other.zip', zip({ 'other.py': 'def handler(event): return 2\n' }));
    const badCode = await runCli(['functions', 'code', 'zip-named', '--code', otherZip], env);
    assert.equal(badCode.code, 1);
    assert.match(badCode.stderr, /no main\.py or main\/__init__\.py/);
    const versions = JSON.parse((await cli('functions', 'versions', 'zip-named', '--json')).stdout) as unknown[];
    assert.equal(versions.length, 1, 'refused changes made no version');
  });

  it('invokes a chosen version by --version, NAME:N and InvokeRequest.version, and NOT_FOUND for one that is not there', async () => {
    await cli(
      'functions',
      'create',
      'pick',
      '--runtime',
      'python',
      '--handler',
      'handler',
      '--code',
      await answering('one'),
    );
    await cli('functions', 'code', 'pick', '--code', await answering('two'));
    await cli('functions', 'code', 'pick', '--code', await answering('three'));
    assert.deepEqual([(await invokeJson('pick')).output, (await invokeJson('pick')).version], ['three', 3]);
    const first = await invokeJson('pick', '--version', '1');
    assert.deepEqual([first.output, first.version], ['one', 1]);
    assert.equal((await invokeJson('pick:2')).output, 'two');
    assert.equal((await invokeJson('pick:latest')).output, 'three');
    const wire = await fx.dp.invoke(invokeRequest('pick', Buffer.from('{}'), { version: 2 }));
    assert.deepEqual([outputJson(wire), wire.version], ['two', 2]);

    const missing = await statusOf(fx.dp.invoke(invokeRequest('pick', Buffer.from('{}'), { version: 9 })));
    assert.equal(missing.code, status.NOT_FOUND);
    assert.match(missing.details, /function "pick" has no version 9/);
    const both = await statusOf(fx.dp.invoke(invokeRequest('pick:2', Buffer.from('{}'), { version: 1 })));
    assert.equal(both.code, status.INVALID_ARGUMENT);
    const zero = await runCli(['invoke', 'pick', '--version', '0'], env);
    assert.equal(zero.code, 1);
    assert.match(zero.stderr, /--version must be at least 1/);

    // Async calls are pinned when queued.
    const queued = await cli('invoke', 'pick:1', '--async', '--wait');
    assert.match(queued.stdout, /^"one"$/m);
    // Pinned calls and latest calls are served side by side, each by its own instances.
    const mixed = await Promise.all([invokeJson('pick:1'), invokeJson('pick'), invokeJson('pick:2')]);
    assert.deepEqual(
      mixed.map((call) => call.output),
      ['one', 'three', 'two'],
    );
  });

  it('sets, lists, moves and removes aliases; NAME:ALIAS calls the version it points at', async () => {
    await cli(
      'functions',
      'create',
      'aliased',
      '--runtime',
      'python',
      '--handler',
      'handler',
      '--code',
      await answering('a1'),
    );
    await cli('functions', 'code', 'aliased', '--code', await answering('a2'));
    const set = await cli('functions', 'alias', 'set', 'aliased', 'prod', '1', '--description', 'what users get');
    assert.match(set.stdout, /aliased:prod -> version 1/);
    assert.equal((await invokeJson('aliased:prod')).output, 'a1');
    assert.equal((await invokeJson('aliased')).output, 'a2');

    // Deploy: move the alias; roll back: move it back.
    await cli('functions', 'alias', 'set', 'aliased', 'prod', '2');
    assert.equal((await invokeJson('aliased:prod')).output, 'a2');
    await cli('functions', 'alias', 'set', 'aliased', 'prod', '1');
    assert.equal((await invokeJson('aliased:prod')).output, 'a1');

    const listed = (await cli('functions', 'alias', 'ls', 'aliased')).stdout;
    assert.match(listed, /^ALIAS +VERSION +CANARY +DESCRIPTION/m);
    assert.match(listed, /^prod +1 +- +what users get/m, 'moving an alias keeps its description');
    const versions = JSON.parse((await cli('functions', 'versions', 'aliased', '--json')).stdout) as {
      aliases: string[];
    }[];
    assert.deepEqual(
      versions.map((v) => v.aliases),
      [['prod'], []],
    );

    await cli('functions', 'alias', 'rm', 'aliased', 'prod');
    const gone = await statusOf(fx.dp.invoke(invokeRequest('aliased:prod', Buffer.from('{}'))));
    assert.equal(gone.code, status.NOT_FOUND);
    assert.match(gone.details, /function "aliased" has no alias "prod"/);
    assert.equal((await cli('functions', 'alias', 'ls', 'aliased', '--json')).stdout.trim(), '[]');
  });

  it('splits an alias between two versions by weight (a canary)', async () => {
    await cli(
      'functions',
      'create',
      'canary',
      '--runtime',
      'python',
      '--handler',
      'handler',
      '--code',
      await answering('stable'),
    );
    await cli('functions', 'code', 'canary', '--code', await answering('next'));
    const set = await cli('functions', 'alias', 'set', 'canary', 'live', '1', '--canary', '2=30');
    assert.match(set.stdout, /canary:live -> version 1, 30% to version 2/);
    const outputs: unknown[] = [];
    // Ten at a time: the function's ten instances, no queueing.
    for (let batch = 0; batch < 20; batch++) {
      const calls = Array.from({ length: 10 }, () => fx.dp.invoke(invokeRequest('canary:live', Buffer.from('{}'))));
      outputs.push(...(await Promise.all(calls)).map(outputJson));
    }
    const toNext = outputs.filter((output) => output === 'next').length;
    assert.equal(outputs.filter((output) => output === 'stable').length + toNext, 200);
    // 30% of 200 is 60; the binomial's standard deviation is 6.5, so 25..95 fails by chance about once in 10^7 runs.
    assert.ok(toNext > 25 && toNext < 95, `${toNext} of 200 went to the canary`);
    assert.match((await cli('functions', 'alias', 'ls', 'canary')).stdout, /^live +1 +30% to version 2 /m);
    // Promote: the alias moves to 2 without a split.
    await cli('functions', 'alias', 'set', 'canary', 'live', '2');
    assert.equal((await invokeJson('canary:live')).output, 'next');
  });

  it('counts every version’s instances against the function’s max_replicas', async () => {
    const timed = (tag: string): Buffer =>
      Buffer.from(
        `import time\ndef handler(event):\n    start = time.time()\n    time.sleep(0.4)\n    return ["${tag}", start, time.time()]\n`,
      );
    await fx.cp.createFunction(createRequest({ name: 'capped', code: timed('v1'), maxReplicas: 2 }));
    await fx.cp.updateFunctionCode({ name: 'capped', code: timed('v2'), handler: '' });
    const calls = ['capped:1', 'capped', 'capped:1', 'capped', 'capped:1', 'capped'].map((target) =>
      fx.dp.invoke(invokeRequest(target, Buffer.from('{}'))),
    );
    const spans = (await Promise.all(calls)).map((response) => outputJson(response) as [string, number, number]);
    assert.deepEqual(spans.map(([tag]) => tag).sort(), ['v1', 'v1', 'v1', 'v2', 'v2', 'v2']);
    const mostAtOnce = Math.max(
      ...spans.map(([, start]) => spans.filter(([, s, e]) => s <= start && start < e).length),
    );
    assert.ok(mostAtOnce <= 2, `${mostAtOnce} instances ran at once; max_replicas is 2 across versions`);
  });

  it('validates alias calls like every control-plane call', async () => {
    await fx.cp.createFunction(createRequest({ name: 'alias-rules' }));
    const setAlias = (overrides: Partial<Parameters<typeof fx.cp.setAlias>[0]>) =>
      statusOf(
        fx.cp.setAlias({
          function: 'alias-rules',
          name: 'prod',
          version: 1,
          canaryVersion: 0,
          canaryWeight: 0,
          description: '',
          ...overrides,
        }),
      );
    const refusals: [Partial<Parameters<typeof fx.cp.setAlias>[0]>, status, RegExp][] = [
      [{ name: '' }, status.INVALID_ARGUMENT, /name: is required/],
      [{ name: '3' }, status.INVALID_ARGUMENT, /not an alias name/],
      [{ name: 'latest' }, status.INVALID_ARGUMENT, /reserved/],
      [{ name: 'a b' }, status.INVALID_ARGUMENT, /not an alias name/],
      [{ version: 0 }, status.INVALID_ARGUMENT, /version: must be a version number/],
      [{ version: 5 }, status.NOT_FOUND, /has no version 5/],
      [{ canaryVersion: 1, canaryWeight: 10 }, status.INVALID_ARGUMENT, /canary_version: must differ/],
      [{ canaryVersion: 2, canaryWeight: 0 }, status.INVALID_ARGUMENT, /canary_weight: must be 1 to 99/],
      [{ canaryVersion: 2, canaryWeight: 100 }, status.INVALID_ARGUMENT, /canary_weight: must be 1 to 99/],
      [{ canaryVersion: 0, canaryWeight: 10 }, status.INVALID_ARGUMENT, /canary_version: must be a version number/],
      [{ canaryVersion: 2, canaryWeight: 10 }, status.NOT_FOUND, /has no version 2/],
      [{ function: 'no-such-fn' }, status.NOT_FOUND, /function "no-such-fn" not found/],
      [{ description: 'x'.repeat(300) }, status.INVALID_ARGUMENT, /description: must be at most 256/],
    ];
    for (const [overrides, code, message] of refusals) {
      const refused = await setAlias(overrides);
      assert.equal(refused.code, code, `${JSON.stringify(overrides)}: ${refused.details}`);
      assert.match(refused.details, message);
    }
    assert.equal((await statusOf(fx.cp.getAlias({ function: 'alias-rules', name: 'prod' }))).code, status.NOT_FOUND);
    assert.equal((await statusOf(fx.cp.deleteAlias({ function: 'alias-rules', name: 'prod' }))).code, status.NOT_FOUND);
    assert.equal((await statusOf(fx.cp.listAliases({ function: 'no-such-fn' }))).code, status.NOT_FOUND);
    assert.equal((await setAlias({})).code, status.OK);
    assert.equal((await fx.cp.getAlias({ function: 'alias-rules', name: 'prod' })).version, 1);
  });
});
