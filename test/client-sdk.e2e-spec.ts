import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConflictError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  NovaError,
  Statehouse,
  TransactionError,
} from '#client';
import { useNova } from './support/fixture.js';

// Issue 10, item 3: the TypeScript SDK's Statehouse client against a real server.
describe('TypeScript SDK: Statehouse', () => {
  const fx = useNova();
  let sh: Statehouse;

  before(() => {
    sh = new Statehouse({ address: fx.nova.address });
  });
  after(() => sh.close());

  it('answers health and version', async () => {
    assert.equal(await sh.health(), 'ok');
    assert.match((await sh.version()).version, /^\d+\.\d+\.\d+/);
  });

  it('stages, commits and reads back: latest, by version, keys, prefixes; a missing version is NotFoundError', async () => {
    const tx = await sh.transaction();
    await tx.write('sdk', 'profile', { name: 'Ada' });
    await tx.write('sdk', 'pref/a', { on: true });
    const first = await tx.commit();
    await assert.rejects(
      tx.commit(),
      (error) => error instanceof TransactionError && /already committed/.test(error.message),
    );
    const second = await sh.transaction();
    await second.write('sdk', 'profile', { name: 'Ada L.' });
    await second.delete('sdk', 'pref/a');
    const ts = await second.commit();
    assert.ok(ts > first);

    assert.deepEqual(await sh.getState('sdk', 'profile'), {
      value: { name: 'Ada L.' },
      version: 2,
      commitTs: ts,
      exists: true,
    });
    assert.deepEqual((await sh.getStateAtVersion('sdk', 'profile', 1)).value, { name: 'Ada' });
    await assert.rejects(sh.getStateAtVersion('sdk', 'profile', 9), (error) => {
      assert.ok(error instanceof NotFoundError);
      assert.equal(error.code, 'NOT_FOUND');
      return true;
    });
    assert.equal((await sh.getState('sdk', 'pref/a')).exists, false);
    assert.deepEqual(await sh.listKeys('sdk'), ['profile']);
    assert.deepEqual(
      (await sh.scanPrefix('sdk', 'pro')).map((entry) => [entry.key, entry.value, entry.version]),
      [['profile', { name: 'Ada L.' }, 2]],
    );
    // Another namespace is another key space.
    assert.deepEqual(await sh.listKeys('sdk', { namespace: 'other' }), []);
  });

  it('maps failures to typed errors with the status name', async () => {
    const expired = await sh.transaction({ timeoutMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(expired.write('sdk', 'k', {}), (error) => {
      assert.ok(error instanceof TransactionError);
      assert.equal(error.code, 'DEADLINE_EXCEEDED');
      return true;
    });
    const aborted = await sh.transaction();
    await aborted.write('sdk', 'never', { n: 1 });
    await aborted.abort();
    await aborted.abort();
    assert.equal((await sh.getState('sdk', 'never')).exists, false);
    await assert.rejects(
      sh.getState('', 'k'),
      (error) => error instanceof InvalidArgumentError && /agent_id/.test(error.message),
    );
    await assert.rejects(sh.transaction({ timeoutMs: 11 * 60 * 1000 }), InvalidArgumentError);
    const offline = new Statehouse({ address: '127.0.0.1:1' });
    await assert.rejects(offline.health(), ConnectionError);
    offline.close();
  });

  it('runs a callback transaction: commits on success, aborts on a throw, re-runs on a conflict', async () => {
    const { result, commitTs } = await sh.transaction(async (tx) => {
      await tx.write('sdk-cb', 'k', { n: 1 });
      return 'done';
    });
    assert.equal(result, 'done');
    assert.equal((await sh.getState('sdk-cb', 'k')).commitTs, commitTs);

    await assert.rejects(
      sh.transaction(async (tx) => {
        await tx.write('sdk-cb', 'k', { n: 99 });
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    assert.deepEqual((await sh.getState('sdk-cb', 'k')).value, { n: 1 });

    // Eight concurrent increments through expected versions lose none.
    const increment = () =>
      sh.transaction(
        async (tx) => {
          const current = await sh.getState('sdk-cb', 'counter');
          const n = current.exists ? (current.value!['n'] as number) : 0;
          await tx.write('sdk-cb', 'counter', { n: n + 1 }, { expectedVersion: current.version });
        },
        { retries: 50 },
      );
    await Promise.all(Array.from({ length: 8 }, increment));
    assert.deepEqual((await sh.getState('sdk-cb', 'counter')).value, { n: 8 });

    // Without retries the conflict reaches the caller, as a TransactionError too.
    await assert.rejects(
      sh.transaction(async (tx) => tx.write('sdk-cb', 'counter', { n: 0 }, { expectedVersion: 1 }), { retries: 0 }),
      (error) => {
        assert.ok(error instanceof ConflictError && error instanceof TransactionError && error instanceof NovaError);
        assert.equal(error.code, 'ABORTED');
        return true;
      },
    );
  });

  it('replays as an async iterator: a range, follow until the loop breaks, and a signal', async () => {
    const stamps: number[] = [];
    for (let i = 0; i < 4; i++) {
      stamps.push((await sh.transaction(async (tx) => tx.write('sdk-replay', `k${i}`, { i }))).commitTs);
    }
    const ranged = [];
    for await (const event of sh.replay('sdk-replay', { startTs: stamps[1], endTs: stamps[2] })) ranged.push(event);
    assert.deepEqual(
      ranged.map((event) => [event.commitTs, event.operations.map((op) => [op.key, op.value, op.version])]),
      [
        [stamps[1], [['k1', { i: 1 }, 1]]],
        [stamps[2], [['k2', { i: 2 }, 1]]],
      ],
    );

    const followed: number[] = [];
    const later = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return (await sh.transaction(async (tx) => tx.delete('sdk-replay', 'k0'))).commitTs;
    })();
    for await (const event of sh.replay('sdk-replay', { follow: true })) {
      followed.push(event.commitTs);
      if (followed.length === 5) {
        assert.equal(event.operations[0]!.value, undefined, 'a delete has no value');
        break;
      }
    }
    assert.deepEqual(followed, [...stamps, await later]);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const seen = [];
    for await (const event of sh.replay('sdk-replay', { follow: true, signal: controller.signal })) seen.push(event);
    assert.equal(seen.length, 5, 'the history, then the stream ended quietly at the abort');
  });
});
