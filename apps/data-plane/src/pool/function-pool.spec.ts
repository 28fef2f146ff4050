import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FunctionRecord } from '#storage';
import { newFunction } from '../../../../test/support/records.js';
import { FunctionPool, revisionOf, type InstanceStarter } from './function-pool.js';
import type { Instance, InvokeOutcome } from './instance.js';

const { code: _code, ...settings } = newFunction('fn', { envVars: { A: '1', B: '2' } });
const base: FunctionRecord = {
  ...settings,
  id: 'f1',
  sandboxId: 1,
  version: 1,
  codeHash: 'abc',
  aliases: {},
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

describe('revisionOf', () => {
  it('changes with what an instance is built from: code version, memory, handler, concurrency, environment', () => {
    const revision = revisionOf(base);
    assert.notEqual(revisionOf({ ...base, version: 2 }), revision);
    assert.notEqual(revisionOf({ ...base, memoryMb: 256 }), revision);
    assert.notEqual(revisionOf({ ...base, handler: 'other' }), revision);
    assert.notEqual(
      revisionOf({ ...base, concurrency: 4 }),
      revision,
      'the instance learns at load whether calls overlap',
    );
    assert.notEqual(revisionOf({ ...base, envVars: { A: '1', B: '3' } }), revision);
    assert.notEqual(revisionOf({ ...base, id: 'f2' }), revision, 'a function deleted and created again');
  });

  it('stays for what the data plane applies itself: timeout, replicas, key order', () => {
    const revision = revisionOf(base);
    assert.equal(revisionOf({ ...base, timeoutS: 5, minReplicas: 2, maxReplicas: 3 }), revision);
    assert.equal(revisionOf({ ...base, envVars: { B: '2', A: '1' } }), revision);
  });
});

/**
 * The pool's slot accounting, over stand-in instances (pure bookkeeping: no
 * process is involved; the e2e suite runs the same rules on real ones).
 */
describe('FunctionPool call slots', () => {
  type StandIn = Instance & { stopped: boolean };

  function poolOf(record: FunctionRecord, queueLimit = 10): { pool: FunctionPool; started: StandIn[] } {
    const started: StandIn[] = [];
    const starter: InstanceStarter = {
      start: (startedRecord, revision) => {
        const exitHandlers: (() => void)[] = [];
        const instance = {
          state: 'idle',
          revision,
          slotsTaken: 0,
          lastUsedAt: 0,
          stopped: false,
          onExitOnce: (handler: () => void) => exitHandlers.push(handler),
          stop: () => {
            instance.stopped = true;
            instance.state = 'dead';
            for (const handler of exitHandlers) handler();
            return Promise.resolve();
          },
        } as unknown as StandIn;
        started.push(instance);
        return Promise.resolve({ instance, loadLog: `loaded ${startedRecord.name}` });
      },
    };
    return { pool: new FunctionPool(record, starter, queueLimit), started };
  }

  const ok: InvokeOutcome = { kind: 'ok', output: Buffer.alloc(0), log: '' };
  const shared = { ...base, concurrency: 3, maxReplicas: 2 };

  it('fills a shared instance up to its concurrency before starting another', async () => {
    const { pool, started } = poolOf(shared);
    const calls = [];
    for (let i = 0; i < 4; i++) calls.push(await pool.acquire(Date.now() + 1000));
    assert.equal(started.length, 2);
    assert.deepEqual(
      calls.map((call) => started.indexOf(call.instance as StandIn)),
      [0, 0, 0, 1],
    );
    assert.deepEqual(
      calls.map((call) => call.cold),
      [true, false, false, true],
    );
    assert.equal(started[0]!.slotsTaken, 3);
    assert.equal(started[1]!.slotsTaken, 1);
    assert.deepEqual(pool.counts(), { idle: 0, busy: 2, starting: 0, queued: 0 });
  });

  it('queues calls when every slot of max_replicas instances is taken, and hands a freed slot to the first', async () => {
    const { pool, started } = poolOf(shared);
    const calls = [];
    for (let i = 0; i < 6; i++) calls.push(await pool.acquire(Date.now() + 1000));
    const waiting = pool.acquire(Date.now() + 1000);
    assert.equal(pool.counts().queued, 1);
    assert.equal(pool.takeWarm(), undefined, 'no slot is taken past a waiting call');
    pool.release(calls[4]!, ok);
    const served = await waiting;
    assert.equal(served.instance, started[1]);
    assert.equal(started[1]!.slotsTaken, 3);
    assert.equal(pool.counts().queued, 0);
  });

  it('gives a call that needs its instance alone every slot of an idle one, never a shared one', async () => {
    const { pool, started } = poolOf(shared);
    const first = await pool.acquire(Date.now() + 1000);
    const alone = await pool.acquire(Date.now() + 1000, true);
    assert.notEqual(alone.instance, first.instance);
    assert.equal(alone.slots, 3);
    assert.equal(started[1]!.slotsTaken, 3);
    // Both instances are taken for it now: the next shared call joins the first.
    const next = await pool.acquire(Date.now() + 1000);
    assert.equal(next.instance, first.instance);
    // A second exclusive call waits for an instance to drain, ahead of shared calls behind it.
    const waitingAlone = pool.acquire(Date.now() + 1000, true);
    const waitingShared = pool.acquire(Date.now() + 1000);
    pool.release(first, ok);
    assert.equal(pool.counts().queued, 2, 'one slot free is not an instance to itself');
    pool.release(next, ok);
    const served = await waitingAlone;
    assert.equal(served.instance, first.instance);
    assert.equal(served.slots, 3);
    pool.release(alone, ok);
    assert.equal((await waitingShared).instance, alone.instance);
  });

  it('lets a shared instance of an old revision finish its calls, then stops it', async () => {
    const { pool, started } = poolOf(shared);
    const first = await pool.acquire(Date.now() + 1000);
    const second = await pool.acquire(Date.now() + 1000);
    pool.update({ ...shared, version: 2 });
    const fresh = await pool.acquire(Date.now() + 1000);
    assert.equal(fresh.instance, started[1], 'new calls go to an instance of the new revision');
    pool.release(first, ok);
    assert.equal(started[0]!.stopped, false, 'a call still runs on it');
    pool.release(second, ok);
    assert.equal(started[0]!.stopped, true);
  });

  it('stops an instance whose call crashed, whatever slots were taken, and serves waiters elsewhere', async () => {
    const { pool, started } = poolOf({ ...shared, maxReplicas: 1 });
    const calls = [];
    for (let i = 0; i < 3; i++) calls.push(await pool.acquire(Date.now() + 1000));
    const waiting = pool.acquire(Date.now() + 1000);
    pool.release(calls[0]!, { kind: 'crashed', error: 'boom', log: '' });
    assert.equal(started[0]!.stopped, true);
    const served = await waiting;
    assert.equal(served.instance, started[1]);
    assert.equal(served.cold, true);
  });

  it('keeps one call per instance at the default concurrency', async () => {
    const { pool, started } = poolOf({ ...base, maxReplicas: 2 });
    const first = await pool.acquire(Date.now() + 1000);
    const second = await pool.acquire(Date.now() + 1000);
    assert.notEqual(first.instance, second.instance);
    assert.equal(started.length, 2);
    pool.release(first, ok);
    assert.deepEqual(pool.counts(), { idle: 1, busy: 1, starting: 0, queued: 0 });
    assert.equal(pool.takeWarm()?.instance, first.instance);
  });
});
