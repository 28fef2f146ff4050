import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { freePort, runCli } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { createPythonWithCli } from './support/cli.js';

describe('nova CLI against a running server', () => {
  const fx = useNova();
  let env: Record<string, string>;
  let codeFile: string;

  before(async () => {
    env = { NOVA_ADDR: fx.nova.address };
    codeFile = join(fx.database.dataDir, 'handler.py');
    await writeFile(codeFile, "def handler(event): return {'message': 'hello'}\n");
  });

  it('creates, shows, lists, updates, versions and deletes a function', async () => {
    const created = await runCli(
      [
        'functions',
        'create',
        'hello',
        '--runtime',
        'python',
        '--handler',
        'handler',
        '--code',
        codeFile,
        '--env',
        'A=1',
        '--json',
      ],
      env,
    );
    assert.equal(created.code, 0, created.stderr);
    const info = JSON.parse(created.stdout) as { name: string; version: number; envVars: Record<string, string> };
    assert.equal(info.name, 'hello');
    assert.equal(info.version, 1);
    assert.deepEqual(info.envVars, { A: '1' });

    const shown = await runCli(['functions', 'get', 'hello'], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^name: +hello$/m);
    assert.match(shown.stdout, /^memory_mb: +128$/m);

    await runCli(
      ['functions', 'create', 'a-longer-name', '--runtime', 'node', '--handler', 'handler', '--code', codeFile],
      env,
    );
    const listed = await runCli(['functions', 'list'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME +RUNTIME +HANDLER +VERSION/);
    assert.equal(lines.at(-1), '2 of 2 functions');
    const column = (line: string): number =>
      line.indexOf('RUNTIME') >= 0 ? line.indexOf('RUNTIME') : line.search(/ (python|node) /) + 1;
    assert.equal(column(lines[1] ?? ''), column(lines[0] ?? ''), 'columns line up');
    assert.equal(column(lines[2] ?? ''), column(lines[0] ?? ''), 'columns line up');

    const updated = await runCli(['functions', 'update', 'hello', '--memory', '256', '--clear-env', '--json'], env);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual(
      (({ memoryMb, envVars }) => ({ memoryMb, envVars }))(
        JSON.parse(updated.stdout) as { memoryMb: number; envVars: object },
      ),
      { memoryMb: 256, envVars: {} },
    );

    await writeFile(codeFile, "def handler(event): return {'message': 'hello again'}\n");
    const code = await runCli(['functions', 'code', 'hello', '--code', codeFile], env);
    assert.match(code.stdout, /^hello: version 2, code sha256 [0-9a-f]{64}$/m);
    const versions = await runCli(['functions', 'versions', 'hello', '--json'], env);
    assert.deepEqual(
      (JSON.parse(versions.stdout) as { version: number }[]).map((v) => v.version),
      [1, 2],
    );

    const deleted = await runCli(['functions', 'delete', 'hello'], env);
    assert.equal(deleted.stdout, 'deleted hello\n');
  });

  it('lists runtimes', async () => {
    const result = await runCli(['runtimes', '--json'], env);
    const ids = (JSON.parse(result.stdout) as { id: string }[]).map((runtime) => runtime.id).sort();
    assert.deepEqual(ids, ['node', 'python', 'wasm']);
  });

  it('prints one clear line and exits non-zero on an error', async () => {
    const missing = await runCli(['functions', 'get', 'ghost'], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'error: NOT_FOUND: function "ghost" not found\n');
    const invalid = await runCli(
      ['functions', 'create', 'Bad', '--runtime', 'python', '--handler', 'h', '--code', codeFile],
      env,
    );
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /^error: INVALID_ARGUMENT: name: "Bad" is not a DNS-1123 label/);
    assert.equal(invalid.stderr.trim().split('\n').length, 1);
    const noFile = await runCli(
      ['functions', 'create', 'x', '--runtime', 'python', '--handler', 'h', '--code', '/no/file'],
      env,
    );
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /^error: ENOENT/);
  });

  it('says when it cannot reach the server', async () => {
    const port = await freePort();
    const result = await runCli(['functions', 'list'], { NOVA_ADDR: `127.0.0.1:${port}` });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^error: cannot reach Nova at 127\\.0\\.0\\.1:${port}`));
  });
});

describe('nova CLI: invoking', () => {
  const fx = useNova();
  let env: Record<string, string>;

  before(async () => {
    env = { NOVA_ADDR: fx.nova.address };
    await createPythonWithCli(
      fx,
      env,
      'greet',
      'def handler(event):\n    print("greeting", event["name"])\n    if event["name"] == "nobody":\n        raise KeyError("nobody")\n    return {"greeting": "hi " + event["name"]}\n',
    );
  });

  it('invokes, lists invocations, shows logs and metrics', async () => {
    const first = await runCli(['invoke', 'greet', '{"name": "Ada"}', '--verbose'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, '{"greeting": "hi Ada"}\n');
    assert.match(first.stderr, /^request id: ([0-9a-f-]{36})\nversion: +1\nduration: +\d+ ms\ncold start: true\n$/);
    const requestId = /request id: (\S+)/.exec(first.stderr)?.[1] ?? '';

    const failed = await runCli(['invoke', 'greet', '{"name": "nobody"}'], env);
    assert.equal(failed.code, 2, 'a function error exits 2');
    assert.equal(failed.stderr, "function error: KeyError: 'nobody'\n");

    const listed = await runCli(['invocations', 'greet'], env);
    assert.match(listed.stdout, /^REQUEST ID +FUNCTION +VERSION +KIND +STATUS/);
    assert.match(listed.stdout, /2 of 2 invocations\n$/);
    assert.match(listed.stdout, /sync +failed .*KeyError: 'nobody'/);

    const logs = await runCli(['logs', requestId], env);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /^status: +succeeded$/m);
    assert.match(logs.stdout, /--- log ---\ngreeting Ada\n$/);

    const metrics = await runCli(['metrics', 'greet', '--json'], env);
    const parsed = JSON.parse(metrics.stdout) as { totalInvocations: number; failedInvocations: number };
    assert.equal(parsed.totalInvocations, 2);
    assert.equal(parsed.failedInvocations, 1);

    const missing = await runCli(['invoke', 'ghost'], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'error: NOT_FOUND: function "ghost" not found\n');
  });
});

describe('nova CLI: async and streaming', () => {
  const fx = useNova();
  let env: Record<string, string>;

  before(async () => {
    env = { NOVA_ADDR: fx.nova.address };
    await createPythonWithCli(
      fx,
      env,
      'count',
      'import time\ndef handler(event, context):\n    if context.metadata.get("attempt") == "1":\n        raise RuntimeError("first try")\n    for i in range(event["n"]):\n        yield i\n        time.sleep(0.05)\n',
    );
  });

  it('queues with --async, waits with --wait, and shows attempts with invocations get', async () => {
    const queued = await runCli(['invoke', 'count', '{"n": 2}', '--async'], env);
    assert.equal(queued.code, 0, queued.stderr);
    const id = queued.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const waited = await runCli(['invocations', 'get', id, '--wait'], env);
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr, new RegExp(`^${id}: (queued|running|failed|succeeded), attempt \\d of 3`, 'm'));
    assert.match(waited.stdout, /^status: +succeeded$/m);
    assert.match(waited.stdout, /^attempts: +2 of 3$/m);
    assert.match(
      waited.stdout,
      /--- attempts ---\nATTEMPT +STARTED +DURATION +ERROR\n1 .*RuntimeError: first try\n2 .* ok\n/,
    );
    assert.match(waited.stdout, /--- output ---\n\[0, 1\]\n/);

    const direct = await runCli(['invoke', 'count', '{"n": 1}', '--async', '--wait'], env);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(direct.stdout, '[0]\n');
    assert.match(direct.stderr, /succeeded, attempt 2 of 3/);
  });

  it('prints chunks as they arrive with --stream', async () => {
    const streamed = await runCli(['invoke', 'count', '{"n": 3}', '--stream'], env);
    assert.equal(streamed.code, 0, streamed.stderr);
    assert.equal(streamed.stdout, '0\n1\n2\n');
  });
});
