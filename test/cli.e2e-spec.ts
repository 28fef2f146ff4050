import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { freePort, runCli } from './support/nova-process.js';
import { useNova, type NovaFixture } from './support/fixture.js';
import { createRequest, invokeRequest } from './support/requests.js';

/** Writes a Python handler into the fixture's data dir and creates it through the CLI. */
async function createPythonWithCli(
  fx: NovaFixture,
  env: Record<string, string>,
  name: string,
  source: string,
): Promise<void> {
  const code = join(fx.database.dataDir, `${name}.py`);
  await writeFile(code, source);
  const created = await runCli(
    ['functions', 'create', name, '--runtime', 'python', '--handler', 'handler', '--code', code],
    env,
  );
  assert.equal(created.code, 0, created.stderr);
}

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

describe('nova CLI: payloads and JSON output (issue 9)', () => {
  const fx = useNova();
  let env: Record<string, string>;

  before(async () => {
    env = { NOVA_ADDR: fx.nova.address };
    await createPythonWithCli(
      fx,
      env,
      'echo',
      'def handler(event):\n    print("got", type(event).__name__)\n    return event\n',
    );
  });

  it('takes the payload from @file and from stdin, up to 6 MiB', async () => {
    const file = join(fx.database.dataDir, 'event.json');
    await writeFile(file, '{"from": "file"}');
    const fromFile = await runCli(['invoke', 'echo', `@${file}`], env);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(fromFile.stdout, '{"from": "file"}\n');

    const fromStdin = await runCli(['invoke', 'echo', '-'], env, '{"from": "stdin"}');
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fromStdin.stdout, '{"from": "stdin"}\n');

    const big = `"${'x'.repeat(6 * 1024 * 1024)}"`;
    const tooBig = await runCli(['invoke', 'echo', '-'], env, big);
    assert.equal(tooBig.code, 1);
    assert.equal(tooBig.stderr, 'error: stdin is over 6 MiB, the largest payload a function takes\n');

    const missing = await runCli(['invoke', 'echo', '@/no/such/file.json'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: ENOENT/);
  });

  it('refuses malformed JSON with the parse error, unless --raw sends it as it is', async () => {
    const bad = await runCli(['invoke', 'echo', '{"name": '], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: the payload is not valid JSON \(.+\); pass --raw to send it as it is\n$/);
    const raw = await runCli(['invoke', 'echo', 'plain words', '--raw'], env);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(raw.stdout, '"plain words"\n');
  });

  it('prints the SDK’s shape with --json: outputs as JSON values, --json after a subcommand honoured', async () => {
    const invoked = await runCli(['invoke', 'echo', '{"a": [1, 2]}', '--json'], env);
    assert.equal(invoked.code, 0, invoked.stderr);
    const response = JSON.parse(invoked.stdout) as { requestId: string; output: unknown; coldStart: boolean };
    assert.deepEqual(response.output, { a: [1, 2] });
    assert.equal(typeof response.coldStart, 'boolean');

    const binary = await runCli(['invoke', 'echo', '"\\u00ff"', '--json'], env);
    assert.deepEqual((JSON.parse(binary.stdout) as { output: unknown }).output, 'ÿ');

    const shown = await runCli(['invocations', 'get', response.requestId, '--json'], env);
    assert.equal(shown.code, 0, shown.stderr);
    const invocation = JSON.parse(shown.stdout) as { id: string; output: unknown; log: string };
    assert.equal(invocation.id, response.requestId);
    assert.match(invocation.log, /^got dict\n$/);
    assert.ok(!shown.stdout.includes('"type": "Buffer"'));
  });

  it('refuses flags that do not go together', async () => {
    const wait = await runCli(['invoke', 'echo', '{}', '--wait'], env);
    assert.equal(wait.code, 1);
    assert.equal(wait.stderr, 'error: --wait needs --async\n');
    const both = await runCli(['invoke', 'echo', '{}', '--stream', '--async'], env);
    assert.equal(both.code, 1);
    assert.equal(both.stderr, 'error: --stream and --async cannot go together\n');
  });
});

describe('nova CLI: clear errors and small things (issue 9)', () => {
  const fx = useNova();
  let env: Record<string, string>;

  before(async () => {
    env = { NOVA_ADDR: fx.nova.address };
    for (const name of ['rows-a', 'rows-b']) {
      await fx.cp.createFunction(createRequest({ name }));
    }
    await fx.dp.invoke(invokeRequest('rows-a', Buffer.from('{}')));
  });

  it('prints its version', async () => {
    const result = await runCli(['--version'], {});
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('refuses an update with nothing to change and a zero timeout, before calling the server', async () => {
    const nothing = await runCli(['functions', 'update', 'rows-a'], env);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /^error: nothing to change: give at least one of --memory/);
    const zero = await runCli(['functions', 'update', 'rows-a', '--timeout', '0'], env);
    assert.equal(zero.code, 1);
    assert.equal(zero.stderr, 'error: --timeout must be at least 1 (got 0)\n');
    assert.equal((await fx.cp.getFunction({ name: 'rows-a' })).timeoutS, 30, 'nothing was sent');
  });

  it('accepts the address as a URL', async () => {
    const result = await runCli(['functions', 'list', '--addr', `http://${fx.nova.address}/`], {});
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /rows-a/);
  });

  it('shows one metrics row per function without a name', async () => {
    const result = await runCli(['metrics'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^FUNCTION +INVOCATIONS +FAILED +AVG +P50 +P95 +P99\n/);
    assert.match(result.stdout, /^rows-a +1 +0 /m);
    assert.match(result.stdout, /^rows-b +0 +0 /m);
    const json = JSON.parse((await runCli(['metrics', '--json'], env)).stdout) as { function: string }[];
    assert.deepEqual(json.map((row) => row.function).sort(), ['rows-a', 'rows-b']);
  });
});

describe('nova CLI: environment variables (issue 9)', () => {
  const fx = useNova();
  let env: Record<string, string>;
  let codeFile: string;

  before(async () => {
    env = { NOVA_ADDR: fx.nova.address };
    codeFile = join(fx.database.dataDir, 'env.py');
    await writeFile(
      codeFile,
      'import os\ndef handler(event): return {k: v for k, v in os.environ.items() if k.isupper() and k.startswith("APP_")}\n',
    );
  });

  it('reads --env-file on create, and on update adds, changes and removes one variable at a time', async () => {
    const envFile = join(fx.database.dataDir, '.env');
    await writeFile(envFile, '# settings\nAPP_MODE=prod\nexport APP_GREETING="hello there"\n\nAPP_EMPTY=\n');
    const created = await runCli(
      [
        'functions',
        'create',
        'envy',
        '--runtime',
        'python',
        '--handler',
        'handler',
        '--code',
        codeFile,
        '--env-file',
        envFile,
        '--env',
        'APP_MODE=dev',
        '--json',
      ],
      env,
    );
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual((JSON.parse(created.stdout) as { envVars: object }).envVars, {
      APP_MODE: 'dev',
      APP_GREETING: 'hello there',
      APP_EMPTY: '',
    });

    const added = await runCli(
      ['functions', 'update', 'envy', '--env', 'APP_LEVEL=3', '--unset-env', 'APP_EMPTY', '--json'],
      env,
    );
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual((JSON.parse(added.stdout) as { envVars: object }).envVars, {
      APP_MODE: 'dev',
      APP_GREETING: 'hello there',
      APP_LEVEL: '3',
    });
    const invoked = await runCli(['invoke', 'envy', '{}'], env);
    assert.deepEqual(JSON.parse(invoked.stdout), { APP_MODE: 'dev', APP_GREETING: 'hello there', APP_LEVEL: '3' });

    const bad = join(fx.database.dataDir, 'bad.env');
    await writeFile(bad, 'APP_OK=1\nnot a variable\n');
    const refused = await runCli(['functions', 'update', 'envy', '--env-file', bad], env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `error: ${bad}:2: expected NAME=VALUE (got "not a variable")\n`);
  });
});
