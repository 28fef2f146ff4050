import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import { createStatehouseClient, type StatehousePromiseClient } from '#proto';
import { useNova } from './support/fixture.js';
import { statusOf } from './support/grpc-status.js';
import { databaseUrlOf } from './support/database-url.js';
import { createTestDatabase, repoRoot, startNova } from './support/nova-process.js';

// Issue 10, item 1: statehouse.v1 as Statehouse's clients use it.
describe('statehouse.v1.StatehouseService', () => {
  const fx = useNova();
  let state: StatehousePromiseClient;

  before(() => {
    state = createStatehouseClient({ address: fx.nova.address });
  });

  const at = (agentId: string, key: string, namespace = 'default') => ({ namespace, agentId, key });
  async function commit(
    ops: ({ agentId: string; key: string; namespace?: string } & ({ value: object } | { remove: true }))[],
  ): Promise<number> {
    const { txnId } = await state.beginTransaction({});
    for (const op of ops) {
      const where = { txnId, ...at(op.agentId, op.key, op.namespace) };
      if ('remove' in op) await state.delete(where);
      else await state.write({ ...where, value: op.value });
    }
    return (await state.commit({ txnId })).commitTs;
  }

  it('answers Health "ok" and Version with Nova’s version', async () => {
    assert.deepEqual(await state.health({}), { status: 'ok' });
    const version = await state.version({});
    const { version: expected } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(version.version, expected);
    assert.match(version.gitSha, /^([0-9a-f]{40}|unknown)$/);
  });

  it('commits atomically, versions each key from 1, and reads latest, by version, keys and prefixes', async () => {
    const first = await commit([
      { agentId: 'rpc', key: 'profile', value: { name: 'Ada', tags: ['x', 1, true, null] } },
      { agentId: 'rpc', key: 'pref/a', value: { on: true } },
      { agentId: 'rpc', key: 'pref/b', value: { on: false } },
    ]);
    const second = await commit([
      { agentId: 'rpc', key: 'profile', value: { name: 'Ada L.' } },
      { agentId: 'rpc', key: 'pref/b', remove: true },
    ]);
    assert.ok(second > first);
    const latest = await state.getState(at('rpc', 'profile'));
    assert.deepEqual(
      [latest.value, latest.version, latest.commitTs, latest.exists],
      [{ name: 'Ada L.' }, 2, second, true],
    );
    const old = await state.getStateAtVersion({ ...at('rpc', 'profile'), version: 1 });
    assert.deepEqual(old.value, { name: 'Ada', tags: ['x', 1, true, null] });
    const deleted = await state.getState(at('rpc', 'pref/b'));
    assert.equal(deleted.exists, false);
    assert.equal(deleted.value, undefined);
    const missing = await state.getState(at('rpc', 'never'));
    assert.deepEqual([missing.exists, missing.version], [false, 0]);
    assert.deepEqual((await state.listKeys({ namespace: 'default', agentId: 'rpc' })).keys, ['pref/a', 'profile']);
    const scanned = await state.scanPrefix({ namespace: 'default', agentId: 'rpc', prefix: 'pref/' });
    assert.deepEqual(
      scanned.entries.map((entry) => [entry.key, entry.value, entry.version]),
      [['pref/a', { on: true }, 1]],
    );
    // Namespaces are separate key spaces.
    assert.equal((await state.getState(at('rpc', 'profile', 'other'))).exists, false);
  });

  it('replays an agent’s commits in commit_ts order, deletes without a value, within a range', async () => {
    const stamps: number[] = [];
    for (let i = 1; i <= 5; i++) stamps.push(await commit([{ agentId: 'replayed', key: `k${i % 2}`, value: { i } }]));
    stamps.push(await commit([{ agentId: 'replayed', key: 'k1', remove: true }]));
    const events = [];
    for await (const event of state.replay({ namespace: 'default', agentId: 'replayed', follow: false }))
      events.push(event);
    assert.deepEqual(
      events.map((event) => event.commitTs),
      stamps,
    );
    const last = events.at(-1)!;
    assert.deepEqual(last.operations, [{ key: 'k1', version: 4 }]);
    const range = [];
    for await (const event of state.replay({
      namespace: 'default',
      agentId: 'replayed',
      startTs: stamps[1],
      endTs: stamps[3],
      follow: false,
    })) {
      range.push(event.commitTs);
    }
    assert.deepEqual(range, stamps.slice(1, 4));
  });

  it('answers each transaction misuse with the seed’s status code', async () => {
    const unknown = await statusOf(state.commit({ txnId: '6f1c2a7e-0000-4000-8000-000000000000' }));
    assert.equal(unknown.code, status.NOT_FOUND);
    assert.equal(
      (await statusOf(state.write({ txnId: 'not-a-txn', ...at('e', 'k'), value: {} }))).code,
      status.NOT_FOUND,
    );

    const { txnId } = await state.beginTransaction({});
    await state.commit({ txnId });
    const again = await statusOf(state.commit({ txnId }));
    assert.equal(again.code, status.FAILED_PRECONDITION);
    assert.match(again.details, /already committed/);
    assert.equal((await statusOf(state.write({ txnId, ...at('e', 'k'), value: {} }))).code, status.FAILED_PRECONDITION);

    const aborted = (await state.beginTransaction({})).txnId;
    await state.write({ txnId: aborted, ...at('e', 'dropped'), value: { x: 1 } });
    await state.abort({ txnId: aborted });
    await state.abort({ txnId: aborted });
    assert.equal((await statusOf(state.commit({ txnId: aborted }))).code, status.FAILED_PRECONDITION);
    assert.equal((await state.getState(at('e', 'dropped'))).exists, false);

    const expiring = (await state.beginTransaction({ timeoutMs: 50 })).txnId;
    await new Promise((resolve) => setTimeout(resolve, 120));
    const expired = await statusOf(state.write({ txnId: expiring, ...at('e', 'k'), value: {} }));
    assert.equal(expired.code, status.DEADLINE_EXCEEDED);
    assert.equal((await statusOf(state.commit({ txnId: expiring }))).code, status.DEADLINE_EXCEEDED);

    const never = await statusOf(state.getStateAtVersion({ ...at('e', 'nothing'), version: 1 }));
    assert.equal(never.code, status.NOT_FOUND);
  });

  it('refuses bad input with INVALID_ARGUMENT naming the field', async () => {
    const { txnId } = await state.beginTransaction({});
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => state.write({ txnId, ...at('', 'k'), value: {} }), /agent_id: is required/],
      [() => state.write({ txnId, ...at('a', ''), value: {} }), /key: is required/],
      [() => state.write({ txnId, ...at('a', 'k'.repeat(1025)), value: {} }), /key: is 1025 bytes; at most 1024/],
      [
        () => state.write({ txnId, ...at('a', 'k'), value: { big: 'x'.repeat(1024 * 1024) } }),
        /value: is \d+ bytes as JSON; at most 1048576/,
      ],
      [() => state.write({ txnId, ...at('a', 'k') } as Parameters<typeof state.write>[0]), /value: is required/],
      [() => state.beginTransaction({ timeoutMs: 600_001 }), /timeout_ms: must be 1 to 600000/],
      [() => state.getState(at('', 'k')), /agent_id: is required/],
      [() => state.listKeys({ namespace: '', agentId: '' }), /agent_id: is required/],
      [() => state.getStateAtVersion({ ...at('a', 'k'), version: 0 }), /version: must be 1 or more/],
    ];
    for (const [call, message] of cases) {
      const refused = await statusOf(call());
      assert.equal(refused.code, status.INVALID_ARGUMENT, `${String(message)}: ${refused.details}`);
      assert.match(refused.details, message);
    }
    const many = (await state.beginTransaction({})).txnId;
    for (let i = 0; i < 1000; i++) await state.write({ txnId: many, ...at('many', `k${i}`), value: { i } });
    const tooMany = await statusOf(state.write({ txnId: many, ...at('many', 'one-more'), value: {} }));
    assert.equal(tooMany.code, status.INVALID_ARGUMENT);
    assert.match(tooMany.details, /at most 1000/);
    await state.commit({ txnId: many });
    assert.equal((await state.listKeys({ namespace: 'default', agentId: 'many' })).keys.length, 1000);
  });

  it('loses no update with 8 concurrent writers on one key through expected_version', async () => {
    const increments = 5;
    const writer = async (): Promise<number> => {
      let conflicts = 0;
      for (let done = 0; done < increments;) {
        const current = await state.getState(at('counter', 'n'));
        const { txnId } = await state.beginTransaction({});
        const n = current.exists ? (current.value!['n'] as number) : 0;
        await state.write({ txnId, ...at('counter', 'n'), value: { n: n + 1 }, expectedVersion: current.version });
        const committed = await statusOf(state.commit({ txnId }));
        if (committed.code === status.OK) done++;
        else {
          assert.equal(committed.code, status.ABORTED, committed.details);
          conflicts++;
        }
      }
      return conflicts;
    };
    const conflicts = await Promise.all(Array.from({ length: 8 }, writer));
    const final = await state.getState(at('counter', 'n'));
    assert.deepEqual(final.value, { n: 8 * increments });
    assert.equal(final.version, 8 * increments);
    assert.ok(conflicts.reduce((a, b) => a + b, 0) > 0, 'the writers did collide');
  });
});

describe('statehouse.v1 Replay with follow', () => {
  const fx = useNova();

  it('delivers the history, then every commit of 4 concurrent writers exactly once, in order', async () => {
    const state = createStatehouseClient({ address: fx.nova.address });
    const write = async (key: string, value: object): Promise<number> => {
      const { txnId } = await state.beginTransaction({});
      await state.write({ txnId, namespace: 'default', agentId: 'followed', key, value });
      return (await state.commit({ txnId })).commitTs;
    };
    try {
      const history = [await write('h', { i: 0 }), await write('h', { i: 1 })];
      const stream = state.replay({ namespace: 'default', agentId: 'followed', follow: true });
      const seen: number[] = [];
      const reading = (async () => {
        for await (const event of stream) {
          seen.push(event.commitTs);
          if (seen.length === history.length + 40) return;
        }
      })();
      // Other agents' commits are not this stream's.
      const writers = Array.from({ length: 4 }, async (_, w) => {
        const stamps: number[] = [];
        for (let i = 0; i < 10; i++) {
          stamps.push(await write(`w${w}`, { i }));
        }
        return stamps;
      });
      const noise = (async () => {
        const { txnId } = await state.beginTransaction({});
        await state.write({ txnId, namespace: 'default', agentId: 'someone-else', key: 'k', value: {} });
        await state.commit({ txnId });
      })();
      const written = (await Promise.all(writers)).flat();
      await noise;
      await reading;
      stream.cancel();
      assert.deepEqual(seen, [...history, ...written.sort((a, b) => a - b)], 'every commit once, in commit_ts order');
    } finally {
      state.close();
    }
  });
});

describe('statehouse.v1 across processes', () => {
  it('serves one transaction’s calls from two Nova processes on one database', async () => {
    const database = await createTestDatabase();
    const first = await startNova({ env: database.env });
    const second = await startNova({ env: database.env, args: ['--mode', 'dataplane'] });
    const a = createStatehouseClient({ address: first.address });
    const b = createStatehouseClient({ address: second.address });
    try {
      const { txnId } = await a.beginTransaction({});
      await b.write({ txnId, namespace: 'default', agentId: 'spread', key: 'one', value: { by: 'b' } });
      await a.write({ txnId, namespace: 'default', agentId: 'spread', key: 'two', value: { by: 'a' } });
      await b.delete({ txnId, namespace: 'default', agentId: 'spread', key: 'three' });
      const { commitTs } = await b.commit({ txnId });
      assert.equal((await statusOf(a.commit({ txnId }))).code, status.FAILED_PRECONDITION, 'the other process knows');
      const one = await a.getState({ namespace: 'default', agentId: 'spread', key: 'one' });
      assert.deepEqual([one.value, one.commitTs], [{ by: 'b' }, commitTs]);
      assert.deepEqual((await b.listKeys({ namespace: 'default', agentId: 'spread' })).keys, ['one', 'two']);
      // A restart keeps every committed value.
      assert.equal(await first.stop(), 0);
      const again = await startNova({ env: database.env, port: first.port });
      try {
        const two = await a.getState({ namespace: 'default', agentId: 'spread', key: 'two' });
        assert.deepEqual(two.value, { by: 'a' });
      } finally {
        await again.stop();
      }
    } finally {
      a.close();
      b.close();
      await second.stop();
      await first.stop();
      await database.dispose();
    }
  });
});

describe('statehouse.v1 Replay of a long log', () => {
  const fx = useNova();

  it('streams 100 000 events in order, holding a page, not the log, while its reader is slow', async () => {
    // 100 000 commits of about 1 KiB each, written straight into the log: ~100 MB that a
    // replay holding its results would have to hold at once.
    const db = new pg.Client({ connectionString: await databaseUrlOf(fx.database) });
    await db.connect();
    try {
      await db.query(`
        INSERT INTO state_events (namespace, agent_id, commit_ts, txn_id, operations)
        SELECT 'default', 'long', g, gen_random_uuid(),
               jsonb_build_array(jsonb_build_object('key', 'k', 'version', g,
                 'value', jsonb_build_object('pad', repeat('x', 1000), 'g', g)))
          FROM generate_series(1, 100000) AS g`);
      await db.query('UPDATE state_clock SET ts = 100000');
    } finally {
      await db.end();
    }
    const rssMiB = (): number =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${fx.nova.child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const state = createStatehouseClient({ address: fx.nova.address });
    try {
      const before = rssMiB();
      let paused = before;
      let count = 0;
      let last = 0;
      for await (const event of state.replay({ namespace: 'default', agentId: 'long', follow: false })) {
        assert.equal(event.commitTs, last + 1);
        last = event.commitTs;
        count++;
        if (count === 1000) {
          // A slow reader: the server must wait for it (flow control) holding a page,
          // not read the ~100 MB log ahead into memory.
          await new Promise((resolve) => setTimeout(resolve, 1500));
          paused = rssMiB();
        }
      }
      assert.equal(count, 100_000);
      assert.ok(paused - before < 40, `the server grew ${Math.round(paused - before)} MiB while its reader paused`);
    } finally {
      state.close();
    }
  });
});
