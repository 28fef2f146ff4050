import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runCli, spawnCli, type CliResult } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { waitUntil } from './support/wait.js';

// Issue 10, item 4: `nova state`, like statehousectl.
describe('nova state', () => {
  const fx = useNova();
  let env: Record<string, string>;
  const cli = async (...args: string[]): Promise<CliResult> => {
    const result = await runCli(args, env);
    assert.equal(result.code, 0, `nova ${args.join(' ')}: ${result.stderr}`);
    return result;
  };

  before(() => {
    env = { NOVA_ADDR: fx.nova.address };
  });

  it('puts, gets, lists, scans, deletes and shows the history of keys', async () => {
    assert.match(
      (await cli('state', 'put', 'agent-1', 'profile', '{"name": "Ada"}')).stdout,
      /^wrote agent-1\/profile at commit_ts \d+$/m,
    );
    await cli('state', 'put', 'agent-1', 'profile', '{"name": "Ada L."}');
    await cli('state', 'put', 'agent-1', 'pref/theme', '{"dark": true}');
    const got = await cli('state', 'get', 'agent-1', 'profile');
    assert.equal(got.stdout, '{"name":"Ada L."}\n');
    assert.match(got.stderr, /version 2, commit_ts \d+/);
    const json = JSON.parse((await cli('state', 'get', 'agent-1', 'profile', '--json')).stdout) as {
      version: number;
      exists: boolean;
    };
    assert.deepEqual([json.version, json.exists], [2, true]);
    assert.equal((await cli('state', 'keys', 'agent-1')).stdout, 'pref/theme\nprofile\n');
    assert.match(
      (await cli('state', 'keys', 'agent-1', '--prefix', 'pref/')).stdout,
      /^pref\/theme +1 +\d+ +\{"dark":true\}$/m,
    );
    assert.equal((await cli('state', 'keys', 'agent-1', '--namespace', 'other')).stdout, '', 'namespaces are apart');
    await cli('state', 'rm', 'agent-1', 'profile');
    const gone = await runCli(['state', 'get', 'agent-1', 'profile'], env);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: agent-1\/profile has no value \(deleted\)$/m);
    const history = (await cli('state', 'history', 'agent-1', 'profile')).stdout;
    assert.match(history, /^VERSION +COMMIT TS +VALUE$/m);
    assert.match(history, /^1 +\d+ +\{"name":"Ada"\}$/m);
    assert.match(history, /^3 +\d+ +\(deleted\)$/m);
    const bad = await runCli(['state', 'put', 'agent-1', 'k', '[1, 2]'], env);
    assert.match(bad.stderr, /the value must be a JSON object/);
  });

  it('replays one line per operation, within a range, and follows new commits', async () => {
    const first = Number(/commit_ts (\d+)/.exec((await cli('state', 'put', 'replayer', 'a', '{"n": 1}')).stdout)?.[1]);
    await cli('state', 'put', 'replayer', 'b', '{"n": 2}');
    await cli('state', 'rm', 'replayer', 'a');
    const all = (await cli('state', 'replay', 'replayer')).stdout.trim().split('\n');
    assert.equal(all.length, 3);
    assert.match(all[0] ?? '', new RegExp(`^${first} [0-9a-f]{8} put a v1 \\{"n":1\\}$`));
    assert.match(all[2] ?? '', /^\d+ [0-9a-f]{8} del a v2$/);
    assert.equal(
      (await cli('state', 'replay', 'replayer', '--from', String(first + 1))).stdout.trim().split('\n').length,
      2,
    );
    assert.equal((await cli('state', 'replay', 'replayer', '--to', String(first))).stdout.trim().split('\n').length, 1);

    const follow = spawnCli(['state', 'replay', 'replayer', '--follow'], env);
    try {
      await waitUntil('the history', () => follow.stdout.trim().split('\n').length === 3, 10_000);
      await cli('state', 'put', 'replayer', 'c', '{"n": 3}');
      await waitUntil('the new commit', () => / put c v1 \{"n":3\}$/m.test(follow.stdout), 10_000);
    } finally {
      assert.equal(await follow.stop('SIGINT'), 0);
    }
  });
});
