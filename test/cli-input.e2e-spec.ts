import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { createPythonWithCli } from './support/cli.js';
import { createRequest, invokeRequest } from './support/requests.js';

// The CLI's issue 9 cases, apart from test/cli.e2e-spec.ts so that neither
// file comes near the per-file time limit on a busy machine.
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
