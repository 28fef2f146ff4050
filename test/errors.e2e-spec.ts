import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, runCli, type CliResult } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { createRequest } from './support/requests.js';

/** Every line the CLI writes about an error starts the same way: "error: " and a lowercase word or a status code. */
function assertErrorLine(result: CliResult, code: number): void {
  assert.equal(result.code, code, result.stderr);
  const first = result.stderr.split('\n').find((line) => line.trim() !== '') ?? '';
  assert.match(first, /^error: ([a-z`"'-]|[A-Z_]+: |\d)/, `one capitalisation: ${first}`);
}

// Issue 9, item 9: clear errors for common mistakes, one form for error
// lines, and the exit codes the README documents.
describe('errors and exit codes', () => {
  const fx = useNova();
  let env: Record<string, string>;
  let scratch: string;

  before(async () => {
    env = { NOVA_ADDR: fx.nova.address };
    scratch = await mkdtemp(join(tmpdir(), 'nova-errors-'));
    await fx.cp.createFunction(
      createRequest({ name: 'fails', code: Buffer.from('def handler(event):\n    raise ValueError("no")\n') }),
    );
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('a port in use names the setting to change and fails before PostgreSQL starts', async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const dataDir = join(scratch, 'port-data');
      const started = Date.now();
      const result = await runCli(['daemon', '--grpc-addr', `127.0.0.1:${port}`, '--data-dir', dataDir], {});
      assertErrorLine(result, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `127\\.0\\.0\\.1:${port} is already in use \\(another nova daemon\\?\\); choose another with --grpc-addr, NOVA_GRPC_ADDR or grpc\\.addr`,
        ),
      );
      assert.ok(Date.now() - started < 10_000, 'no database was started first');
      const made = await readdir(dataDir).catch((): string[] => []);
      assert.ok(!made.includes('postgres'), `no cluster was made: ${made.join(', ')}`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('a config file with an unknown key is refused with its line', async () => {
    const config = join(scratch, 'nova.yaml');
    await writeFile(config, 'grpc:\n  addr: 127.0.0.1:0\nlog_levle: debug\n');
    const result = await runCli(['daemon', '--config', config, '--data-dir', join(scratch, 'cfg-data')], {});
    assertErrorLine(result, 1);
    assert.match(result.stderr, /nova\.yaml, line 3: unknown key "log_levle"; known here: .*log_level/);
  });

  it('exits 0 on success, 1 on any error, 2 when the function itself failed', async () => {
    assert.equal((await runCli(['functions', 'ls'], env)).code, 0);
    assertErrorLine(await runCli(['functions', 'get', 'no-such'], env), 1);
    assertErrorLine(await runCli(['functions', 'ls', '--bogus'], env), 1);
    assertErrorLine(await runCli(['invoke', 'fails', '{', '--json'], env), 1);
    assertErrorLine(await runCli(['invoke', 'fails', '{}', '--wait'], env), 1);
    assertErrorLine(await runCli(['functions', 'update', 'fails'], env), 1);
    assertErrorLine(await runCli(['functions', 'ls'], { NOVA_ADDR: `127.0.0.1:${await freePort()}` }), 1);
    const failed = await runCli(['invoke', 'fails', '{}'], env);
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /^function error: ValueError: no/m);
    const deadLetter = await runCli(['invoke', 'fails', '{}', '--async', '--wait', '--max-attempts', '1'], env);
    assert.equal(deadLetter.code, 2);
    assert.match(deadLetter.stderr, /dead letter after 1 attempts: ValueError: no/);
    const streamed = await runCli(['invoke', 'fails', '{}', '--stream'], env);
    assert.equal(streamed.code, 2);
  });
});
