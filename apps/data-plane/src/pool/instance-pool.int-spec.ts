import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import { FunctionsRepository, type FunctionRecord } from '#storage';
import { DomainError } from '#server';
import {
  compileFeature,
  openIntegrationDatabase,
  testConfig,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { waitUntil } from '../../../../test/support/wait.js';
import { FunctionCatalog } from '../functions/function-catalog.js';
import type { Acquired } from './function-pool.js';
import { InstancePoolService } from './instance-pool.service.js';
import { PoolModule } from './pool.module.js';
import { newFunction } from '../../../../test/support/records.js';

const ok = { kind: 'ok', output: Buffer.alloc(0), log: '' } as const;

/** The error a call that gets no warm instance fails with. */
async function errorOf(work: Acquired | Promise<Acquired>): Promise<DomainError> {
  const error = await Promise.resolve(work).then(
    () => undefined,
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
  return error;
}

// The instance pool over real instances (python processes in the real
// sandbox) and real function records: the queue and its waiters, reaping,
// and the retirement of an old revision, in process.
describe('InstancePoolService (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let pools: InstancePoolService;
  let catalog: FunctionCatalog;
  let functions: FunctionsRepository;

  before(async () => {
    db = await openIntegrationDatabase();
    functions = new FunctionsRepository(db.database.sql);
    const config = testConfig({ NOVA_IDLE_TTL_S: '1', NOVA_QUEUE_LIMIT: '1', NOVA_WARM_POOL_SIZE: '1' });
    module = await compileFeature(db.database, { imports: [PoolModule] }, { config });
    pools = module.get(InstancePoolService);
    catalog = module.get(FunctionCatalog);
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  async function created(name: string, maxReplicas: number): Promise<FunctionRecord> {
    await functions.create(newFunction(name, { maxReplicas, code: Buffer.from('def handler(e): return e\n') }));
    return catalog.require(name);
  }

  it('queues calls past max_replicas, hands a released instance to the first waiter, and refuses past the queue', async () => {
    const record = await created('pool-queue', 1);
    const first = await pools.acquire(record, Date.now() + 20_000);
    assert.equal(first.cold, true);
    const waiting = pools.acquire(record, Date.now() + 20_000);
    const refused = await errorOf(pools.acquire(record, Date.now() + 20_000));
    assert.equal(refused.code, 'QUEUE_FULL');
    assert.equal(refused.kind, 'resource_exhausted');
    pools.release(record, first, ok);
    const second: Acquired = await waiting;
    assert.equal(second.instance, first.instance, 'the waiter got the warm instance');
    assert.equal(second.cold, false);
    pools.release(record, second, ok);
  });

  it('gives a waiter up when its deadline passes before an instance frees', async () => {
    const record = await created('pool-deadline', 1);
    const busy = await pools.acquire(record, Date.now() + 20_000);
    const late = await errorOf(pools.acquire(record, Date.now() + 200));
    assert.equal(late.code, 'NO_INSTANCE_IN_TIME');
    pools.release(record, busy, ok);
  });

  it('stops instances idle past the idle TTL', async () => {
    const record = await created('pool-reap', 2);
    const acquired = await pools.acquire(record, Date.now() + 20_000);
    pools.release(record, acquired, ok);
    assert.equal(acquired.instance.state, 'idle');
    await waitUntil('the idle instance to be reaped', () => acquired.instance.state === 'dead', 10_000);
  });

  it('retires an instance of an old revision when its call ends, and starts the new one cold', async () => {
    const record = await created('pool-retire', 2);
    const old = await pools.acquire(record, Date.now() + 20_000);
    await functions.update('pool-retire', { memoryMb: 256 }, () => undefined);
    await waitUntil('the new settings', () => catalog.peek('pool-retire')?.memoryMb === 256, 5000);
    pools.release(record, old, ok);
    await waitUntil('the old instance to stop', () => old.instance.state === 'dead', 5000);
    const fresh = await pools.acquire(catalog.peek('pool-retire')!, Date.now() + 20_000);
    assert.equal(fresh.cold, true);
    assert.notEqual(fresh.instance, old.instance);
    pools.release(catalog.peek('pool-retire')!, fresh, ok);
  });

  it('fails the waiters of a deleted function with NOT_FOUND', async () => {
    const record = await created('pool-delete', 1);
    const busy = await pools.acquire(record, Date.now() + 20_000);
    const waiting = errorOf(pools.acquire(record, Date.now() + 20_000));
    await functions.delete('pool-delete');
    const error = await waiting;
    assert.equal(error.code, 'FUNCTION_DELETED');
    assert.equal(error.kind, 'not_found');
    await waitUntil('the busy instance to stop with its pool', () => busy.instance.state === 'dead', 5000);
  });

  it('refuses a second call with the request id of one in flight on the instance, and leaves the first alone', async () => {
    await functions.create(
      newFunction('pool-same-id', {
        code: Buffer.from('import time\ndef handler(e):\n    time.sleep(0.3)\n    return e\n'),
      }),
    );
    const record = await catalog.require('pool-same-id');
    const acquired = await pools.acquire(record, Date.now() + 20_000);
    const payload = Buffer.from('"first"');
    const first = acquired.instance.invoke('same-id', payload, {}, 10_000);
    const second = await acquired.instance.invoke('same-id', Buffer.from('"second"'), {}, 10_000);
    assert.equal(second.kind, 'function_error');
    assert.match(second.kind === 'function_error' ? second.error : '', /request same-id is already running/);
    const outcome = await first;
    assert.equal(outcome.kind, 'ok');
    assert.equal(outcome.kind === 'ok' ? outcome.output.toString() : '', '"first"');
    pools.release(record, acquired, outcome);
  });
});
