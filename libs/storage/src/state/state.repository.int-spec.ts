import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { waitUntil } from '../../../../test/support/wait.js';
import { NotificationListener } from '../database/notification-listener.js';
import { notifyChannels } from '../database/notify-channels.js';
import type { StagedOperation } from './state-record.js';
import { StateRepository } from './state.repository.js';

const at = (agentId: string, key: string, namespace = 'default') => ({ namespace, agentId, key });
const write = (agentId: string, key: string, value: object, expectedVersion?: number): StagedOperation => ({
  ...at(agentId, key),
  value: value as StagedOperation['value'],
  expectedVersion,
});
const remove = (agentId: string, key: string): StagedOperation => ({
  ...at(agentId, key),
  value: undefined,
  expectedVersion: undefined,
});

// Every query of StateRepository, run against the real PostgreSQL.
describe('StateRepository (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let state: StateRepository;
  const commits: number[] = [];

  before(async () => {
    db = await openIntegrationDatabase();
    module = await compileFeature(db.database, { imports: [] });
    state = module.get(StateRepository);
    await module
      .get(NotificationListener)
      .subscribe(notifyChannels.stateCommits, (notice) => commits.push((JSON.parse(notice) as { ts: number }).ts));
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  async function commitOf(...operations: StagedOperation[]): Promise<number> {
    const txn = randomUUID();
    await state.begin(txn, 30_000);
    for (const operation of operations) assert.equal(await state.stage(txn, operation), undefined);
    const committed = await state.commit(txn);
    assert.ok(typeof committed === 'object' && 'commitTs' in committed, JSON.stringify(committed));
    return committed.commitTs;
  }

  it('commits staged writes atomically with versions from 1, and reads them back', async () => {
    const ts = await commitOf(write('a1', 'k', { n: 1 }), write('a1', 'other', { s: 'x' }));
    assert.deepEqual(await state.get(at('a1', 'k')), { value: { n: 1 }, version: 1, commitTs: ts, exists: true });
    const ts2 = await commitOf(write('a1', 'k', { n: 2 }));
    assert.ok(ts2 > ts);
    assert.deepEqual(await state.get(at('a1', 'k')), { value: { n: 2 }, version: 2, commitTs: ts2, exists: true });
    assert.deepEqual((await state.getAtVersion(at('a1', 'k'), 1))?.value, { n: 1 });
    assert.equal(await state.getAtVersion(at('a1', 'k'), 3), undefined);
    assert.deepEqual(await state.get(at('a1', 'missing')), {
      value: undefined,
      version: 0,
      commitTs: 0,
      exists: false,
    });
    assert.deepEqual(await state.get(at('a1', 'k', 'elsewhere')), {
      value: undefined,
      version: 0,
      commitTs: 0,
      exists: false,
    });
    await waitUntil('the commit notifications', () => commits.includes(ts) && commits.includes(ts2));
  });

  it('deletes as a version of its own; lists and scans live keys in key order', async () => {
    await commitOf(
      write('a2', 'b', { v: 1 }),
      write('a2', 'a', { v: 2 }),
      write('a2', 'ab', { v: 3 }),
      write('a2', 'c', { v: 4 }),
    );
    await commitOf(remove('a2', 'c'));
    assert.deepEqual(await state.get(at('a2', 'c')), {
      value: undefined,
      version: 2,
      commitTs: (await state.get(at('a2', 'c'))).commitTs,
      exists: false,
    });
    assert.deepEqual(await state.listKeys('default', 'a2'), ['a', 'ab', 'b']);
    assert.deepEqual(
      (await state.scanPrefix('default', 'a2', 'a')).map((entry) => [entry.key, entry.value]),
      [
        ['a', { v: 2 }],
        ['ab', { v: 3 }],
      ],
    );
    assert.deepEqual(
      (await state.history(at('a2', 'c'))).map((v) => [v.version, v.exists]),
      [
        [1, true],
        [2, false],
      ],
    );
  });

  it('reports why a transaction cannot take an operation or commit', async () => {
    assert.equal(await state.stage(randomUUID(), write('a3', 'k', {})), 'unknown');
    assert.equal(await state.commit(randomUUID()), 'unknown');
    const done = randomUUID();
    await state.begin(done, 30_000);
    await state.commit(done);
    assert.equal(await state.stage(done, write('a3', 'k', {})), 'committed');
    assert.equal(await state.commit(done), 'committed');
    assert.equal(await state.abort(done), 'committed');
    const aborted = randomUUID();
    await state.begin(aborted, 30_000);
    await state.stage(aborted, write('a3', 'k', { lost: true }));
    assert.equal(await state.abort(aborted), undefined);
    assert.equal(await state.abort(aborted), undefined, 'aborting twice is fine');
    assert.equal(await state.commit(aborted), 'aborted');
    assert.equal((await state.get(at('a3', 'k'))).exists, false);
    const expired = randomUUID();
    await state.begin(expired, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await state.stage(expired, write('a3', 'k', {})), 'expired');
    assert.equal(await state.commit(expired), 'expired');
    const small = new StateRepository(db.database.sql, 2);
    const full = randomUUID();
    await small.begin(full, 30_000);
    assert.equal(await small.stage(full, write('a3', 'x', {})), undefined);
    assert.equal(await small.stage(full, write('a3', 'y', {})), undefined);
    assert.equal(await small.stage(full, write('a3', 'z', {})), 'too_many_operations');
  });

  it('aborts a commit whose expected version no longer holds, applying nothing', async () => {
    await commitOf(write('a4', 'counter', { n: 1 }, 0));
    const stale = randomUUID();
    await state.begin(stale, 30_000);
    await state.stage(stale, write('a4', 'counter', { n: 2 }, 1));
    await state.stage(stale, write('a4', 'side', { touched: true }));
    await commitOf(write('a4', 'counter', { n: 5 }, 1));
    const refused = await state.commit(stale);
    assert.deepEqual(refused, {
      conflict: { namespace: 'default', agentId: 'a4', key: 'counter', expected: 1, actual: 2 },
    });
    assert.equal((await state.get(at('a4', 'side'))).exists, false, 'nothing of it applied');
    assert.equal(await state.commit(stale), 'aborted');
    const fresh = randomUUID();
    await state.begin(fresh, 30_000);
    await state.stage(fresh, write('a4', 'counter', {}, 0));
    assert.ok('conflict' in ((await state.commit(fresh)) as object), 'expected 0 means no live value');
  });

  it('hands out commit_ts in commit order under concurrent commits, and pages events per agent', async () => {
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => commitOf(write('a5', `k${i % 3}`, { i }))));
    assert.equal(new Set(all).size, 20);
    const events = await state.events('default', 'a5', 0, undefined, 1000);
    assert.deepEqual(
      events.map((event) => event.commitTs),
      [...all].sort((x, y) => x - y),
    );
    const page = await state.events('default', 'a5', events[4]!.commitTs, events[9]!.commitTs, 3);
    assert.deepEqual(
      page.map((event) => event.commitTs),
      events.slice(5, 8).map((event) => event.commitTs),
    );
    // Versions per key rise by one with each commit, in commit order.
    for (const key of ['k0', 'k1', 'k2']) {
      const versions = events.flatMap((event) =>
        event.operations.filter((op) => op.key === key).map((op) => op.version),
      );
      assert.deepEqual(
        versions,
        versions.map((_, i) => i + 1),
      );
    }
  });

  it('groups the commits queued behind a batch into one transaction; a refused one answers only its caller', async () => {
    await commitOf(write('a8', 'taken', { n: 1 }));
    const staged = async (operation: StagedOperation): Promise<string> => {
      const txn = randomUUID();
      await state.begin(txn, 30_000);
      assert.equal(await state.stage(txn, operation), undefined);
      return txn;
    };
    // Expired after staging, by its deadline in the table: a 1 ms timeout could lapse before the stage on a slow machine.
    const expired = await staged(write('a8', 'late', { n: 1 }));
    await db.database.sql.run("UPDATE state_txns SET expires_at = now() - interval '1 second' WHERE txn_id = $1", [
      expired,
    ]);
    const txns = [
      ...(await Promise.all(Array.from({ length: 5 }, (_, i) => staged(write('a8', `k${i}`, { i }))))),
      await staged(write('a8', 'taken', { n: 2 }, 0)),
      expired,
      randomUUID(),
      ...(await Promise.all(Array.from({ length: 5 }, (_, i) => staged(write('a8', `k${i + 5}`, { i: i + 5 }))))),
    ];
    // Asked for together: the first goes alone, the rest queue behind it and go as one batch.
    const outcomes = await Promise.all(txns.map((txn) => state.commit(txn)));
    assert.deepEqual(
      outcomes.slice(5, 8).map((outcome) => (typeof outcome === 'object' ? Object.keys(outcome)[0] : outcome)),
      ['conflict', 'expired', 'unknown'],
    );
    const stamps = [...outcomes.slice(0, 5), ...outcomes.slice(8)].map((outcome) => {
      assert.ok(typeof outcome === 'object' && 'commitTs' in outcome, JSON.stringify(outcome));
      return outcome.commitTs;
    });
    assert.deepEqual(
      stamps,
      [...stamps].sort((x, y) => x - y),
      'commit_ts follows queue order',
    );
    assert.equal(new Set(stamps).size, 10);
    assert.equal((await state.get(at('a8', 'taken'))).version, 1, 'the conflict applied nothing');
    assert.equal((await state.get(at('a8', 'late'))).exists, false);
    const transactions = await db.database.sql.rows<{ n: string }>(
      "SELECT count(DISTINCT xmin::text) AS n FROM state_versions WHERE agent_id = 'a8' AND key LIKE 'k%'",
    );
    assert.ok(Number(transactions[0]!.n) < 10, `10 commits in ${transactions[0]!.n} PostgreSQL transactions`);
  });

  it('sweeps the staged operations of expired transactions', async () => {
    const txn = randomUUID();
    await state.begin(txn, 1);
    await db.database.sql.run(
      "INSERT INTO state_staged (txn_id, namespace, agent_id, key, value) VALUES ($1, 'default', 'a6', 'k', '{}')",
      [txn],
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await state.sweep();
    const left = await db.database.sql.rows('SELECT 1 FROM state_staged WHERE txn_id = $1', [txn]);
    assert.equal(left.length, 0);
    assert.equal(await state.commit(txn), 'expired', 'still known as expired');
  });
  it('applies checks, writes and deletes in one statement; a broken check applies nothing', async () => {
    await commitOf(write('a7', 'read', { n: 1 }));
    const applied = await state.apply(randomUUID(), [
      { ...at('a7', 'read'), kind: 'check', expectedVersion: 1 },
      { ...at('a7', 'new'), kind: 'write', value: { n: 2 }, expectedVersion: 0 },
      { ...at('a7', 'new'), kind: 'write', value: { n: 3 } },
    ]);
    assert.ok('commitTs' in applied);
    assert.deepEqual(await state.get(at('a7', 'new')), {
      value: { n: 3 },
      version: 2,
      commitTs: applied.commitTs,
      exists: true,
    });
    assert.equal((await state.get(at('a7', 'read'))).version, 1, 'a check writes nothing');
    const events = await state.events('default', 'a7', applied.commitTs - 1, undefined, 10);
    assert.deepEqual(events[0]?.operations, [
      { key: 'new', value: { n: 2 }, version: 1 },
      { key: 'new', value: { n: 3 }, version: 2 },
    ]);

    const refused = await state.apply(randomUUID(), [
      { ...at('a7', 'other'), kind: 'write', value: { n: 4 } },
      { ...at('a7', 'read'), kind: 'check', expectedVersion: 0 },
    ]);
    assert.deepEqual(refused, { conflict: { ...at('a7', 'read'), expected: 0, actual: 1 } });
    assert.equal((await state.get(at('a7', 'other'))).exists, false);
  });

  it('makes open transactions that read one key take turns, and checks their reads at commit', async () => {
    await commitOf(write('a8', 'counter', { n: 0 }));
    const increment = async (): Promise<void> => {
      const txn = await state.open(10_000);
      const read = await txn.lockedGet(at('a8', 'counter'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const result = await txn.commit(randomUUID(), [
        {
          ...at('a8', 'counter'),
          kind: 'write',
          value: { n: (read.value!['n'] as number) + 1 },
          expectedVersion: read.version,
        },
      ]);
      assert.ok('commitTs' in result, JSON.stringify(result));
    };
    await Promise.all(Array.from({ length: 5 }, increment));
    assert.deepEqual((await state.get(at('a8', 'counter'))).value, { n: 5 });

    // A writer from outside (statehouse.v1) is not held back by the lock, but the check catches it.
    const txn = await state.open(10_000);
    const read = await txn.lockedGet(at('a8', 'counter'));
    await commitOf(write('a8', 'counter', { n: 100 }));
    const refused = await txn.commit(randomUUID(), [
      { ...at('a8', 'counter'), kind: 'check', expectedVersion: read.version },
    ]);
    assert.deepEqual(refused, { conflict: { ...at('a8', 'counter'), expected: 6, actual: 7 } });

    // A lock not granted in time fails the read; rolling back releases it.
    const holder = await state.open(10_000);
    await holder.lockedGet(at('a8', 'counter'));
    const waiter = await state.open(100);
    await assert.rejects(waiter.lockedGet(at('a8', 'counter')), /lock timeout/);
    await waiter.rollback();
    await holder.rollback();
    const after = await state.open(100);
    assert.equal((await after.lockedGet(at('a8', 'counter'))).version, 7);
    await after.rollback();
  });
});
