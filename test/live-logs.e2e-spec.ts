import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createTestDatabase, runCli, spawnCli, startNova, type RunningCli } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { statusOf } from './support/grpc-status.js';
import { asyncRequest, createRequest, invokeRequest } from './support/requests.js';
import { waitUntil } from './support/wait.js';

const printing = (tag: string): Buffer =>
  Buffer.from(`def handler(event):\n    print("${tag} got", event["n"])\n    return event["n"]\n`);

// Issue 9, item 6: `nova logs -f` (TailLogs, fed by NOTIFY) and `nova invoke --tail`.
describe('live logs', () => {
  const fx = useNova();
  let env: Record<string, string>;

  before(async () => {
    env = { NOVA_ADDR: fx.nova.address };
    await fx.cp.createFunction(createRequest({ name: 'tail-a', code: printing('a') }));
    await fx.cp.createFunction(createRequest({ name: 'tail-b', code: printing('b') }));
  });

  const follow = async (...args: string[]): Promise<RunningCli> => {
    const tail = spawnCli(['logs', '-f', ...args], env);
    await waitUntil(
      'the tail to follow',
      () => /^following /m.test(tail.stderr) || tail.stderr.includes('error'),
      10_000,
    );
    assert.match(tail.stderr, /^following (the logs of \S+|all logs) \(Ctrl-C to stop\)$/m, tail.stderr);
    return tail;
  };

  it('`nova logs -f NAME` prints each of its invocations as it finishes, with its log, and nothing of others', async () => {
    const tail = await follow('tail-a');
    try {
      const sync = await fx.dp.invoke(invokeRequest('tail-a', Buffer.from('{"n": 1}')));
      await fx.dp.invoke(invokeRequest('tail-b', Buffer.from('{"n": 2}')));
      const queued = await fx.dp.invokeAsync(asyncRequest('tail-a', { payload: Buffer.from('{"n": 3}') }));
      for await (const chunk of fx.dp.invokeStream(invokeRequest('tail-a', Buffer.from('{"n": 4}')))) void chunk;
      await waitUntil(
        'all three of tail-a in the tail',
        () => (tail.stdout.match(/^    a got \d$/gm) ?? []).length === 3,
        10_000,
      );
      assert.match(
        tail.stdout,
        new RegExp(`^\\S+ \\S+ tail-a v1 ${sync.requestId} sync \\d+ ms( cold)? succeeded\\n    a got 1$`, 'm'),
      );
      assert.match(
        tail.stdout,
        new RegExp(`tail-a v1 ${queued.invocationId} async attempt 1 of 3 .*succeeded\\n    a got 3$`, 'm'),
      );
      assert.match(tail.stdout, /tail-a v1 \S+ stream \d+ ms.* succeeded\n {4}a got 4$/m);
      assert.doesNotMatch(tail.stdout, /tail-b|b got/);
    } finally {
      assert.equal(await tail.stop('SIGINT'), 0, 'Ctrl-C ends it cleanly');
    }
  });

  it('`nova logs -f` follows every function; --json prints one object per line', async () => {
    const tail = await follow('--json');
    try {
      await fx.dp.invoke(invokeRequest('tail-a', Buffer.from('{"n": 5}')));
      await fx.dp.invoke(invokeRequest('tail-b', Buffer.from('{"n": 6}')));
      await waitUntil(
        'both',
        () =>
          tail.stdout
            .trim()
            .split('\n')
            .filter((line) => line.startsWith('{')).length >= 2,
        10_000,
      );
      const seen = tail.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { functionName: string; log: string; output: unknown });
      assert.deepEqual(seen.map((invocation) => [invocation.functionName, invocation.log]).sort(), [
        ['tail-a', 'a got 5\n'],
        ['tail-b', 'b got 6\n'],
      ]);
    } finally {
      await tail.stop('SIGINT');
    }
  });

  it('TailLogs for an unknown function is NOT_FOUND; the CLI says so', async () => {
    const stream = fx.dp.tailLogs({ function: 'no-such-tail' });
    const code = await statusOf(
      (async () => {
        for await (const item of stream) void item;
      })(),
    );
    assert.equal(code.code, status.NOT_FOUND);
    const cli = await runCli(['logs', '-f', 'no-such-tail'], env);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^error: NOT_FOUND: function "no-such-tail" not found$/m);
    const noId = await runCli(['logs'], env);
    assert.equal(noId.code, 1);
    assert.match(noId.stderr, /give an invocation id, or -f \[NAME\]/);
  });

  it('`nova invoke --tail` prints the call’s log after its output (sync, stream, async --wait)', async () => {
    const sync = await runCli(['invoke', 'tail-a', '{"n": 7}', '--tail'], env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(sync.stdout, '7\n', 'the output stays clean on stdout');
    assert.match(sync.stderr, /^--- log ---\na got 7\n$/m);
    const streamed = await runCli(['invoke', 'tail-a', '{"n": 8}', '--stream', '--tail'], env);
    assert.equal(streamed.stdout, '8\n');
    assert.match(streamed.stderr, /--- log ---\na got 8\n/);
    const waited = await runCli(['invoke', 'tail-a', '{"n": 9}', '--async', '--wait', '--tail'], env);
    assert.equal(waited.stdout, '9\n');
    assert.match(waited.stderr, /--- log ---\na got 9\n/);
    const json = JSON.parse((await runCli(['invoke', 'tail-a', '{"n": 10}', '--tail', '--json'], env)).stdout) as {
      log: string;
    };
    assert.equal(json.log, 'a got 10\n');
    // Without --tail nothing of the log is sent.
    const plain = await fx.dp.invoke(invokeRequest('tail-a', Buffer.from('{"n": 11}')));
    assert.equal(plain.log, '');
    const refused = await runCli(['invoke', 'tail-a', '{"n": 1}', '--async', '--tail'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--tail with --async needs --wait/);
  });

  it('a following client ends when the server stops, and the drain does not wait for it', async () => {
    // Its own server: this one is stopped.
    const database = await createTestDatabase();
    const nova = await startNova({ env: database.env });
    try {
      const tail = spawnCli(['logs', '-f'], { NOVA_ADDR: nova.address });
      await waitUntil('following', () => tail.stderr.includes('following'), 10_000);
      const started = Date.now();
      await nova.stop();
      assert.ok(Date.now() - started < 8000, 'stopped without waiting out the drain timeout');
      assert.equal(await tail.exited, 1);
      assert.match(tail.stderr, /the server ended the log stream \(it is shutting down\)/);
    } finally {
      await nova.stop();
      await database.dispose();
    }
  });
});
