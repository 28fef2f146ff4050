import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { AsyncQueueRepository } from './async-queue.repository.js';
import { InvocationsRepository } from './invocations.repository.js';
import type { AttemptResult, ClaimedInvocation, NewAsyncInvocation } from './invocation-record.js';

function queued(functionName: string, overrides: Partial<NewAsyncInvocation> = {}): NewAsyncInvocation {
  return {
    id: randomUUID(),
    correlationId: 'test-call',
    functionName,
    version: 1,
    payload: Buffer.from('{"n":1}'),
    maxAttempts: 3,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    idempotencyKey: '',
    ...overrides,
  };
}

function result(claimed: ClaimedInvocation, overrides: Partial<AttemptResult> = {}): AttemptResult {
  return {
    id: claimed.id,
    attempt: claimed.attempt,
    status: 'succeeded',
    version: 1,
    output: Buffer.from('"ok"'),
    error: '',
    log: '',
    durationMs: 3,
    coldStart: false,
    startedAt: new Date(),
    nextRunAt: undefined,
    ...overrides,
  };
}

// The durable queue's SQL (ADR 0005) against the real PostgreSQL: claims
// under leases, fencing of results, expiry, idempotency.
describe('AsyncQueueRepository (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let queue: AsyncQueueRepository;
  let history: InvocationsRepository;

  before(async () => {
    db = await openIntegrationDatabase();
    module = await compileFeature(db.database, { imports: [] });
    queue = module.get(AsyncQueueRepository);
    history = module.get(InvocationsRepository);
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  /** Only this test's invocations: claims take any runnable row, so each test claims its own function's. */
  async function claimOwn(owner: string, functionName: string, limit = 10): Promise<ClaimedInvocation[]> {
    const claimed = await queue.claim(owner, limit);
    return claimed.filter((invocation) => invocation.functionName === functionName);
  }

  it('claims each queued invocation once across claimers, and writes its result back', async () => {
    const stored = await Promise.all([1, 2, 3].map(() => queue.enqueue(queued('q-claim'))));
    assert.ok(stored.every((s) => s.status === 'queued' && !s.duplicate));
    const [a, b] = await Promise.all([claimOwn('runner-a', 'q-claim'), claimOwn('runner-b', 'q-claim')]);
    const ids = [...a, ...b].map((claimed) => claimed.id).sort();
    assert.deepEqual(ids, stored.map((s) => s.id).sort(), 'every invocation claimed exactly once');
    assert.ok([...a, ...b].every((claimed) => claimed.attempt === 1));
    assert.equal(
      await queue.complete(
        'runner-a',
        a.map((claimed) => result(claimed)),
      ),
      a.length,
    );
    assert.equal(
      await queue.complete(
        'runner-b',
        b.map((claimed) => result(claimed)),
      ),
      b.length,
    );
    for (const { id } of stored) {
      const done = await history.find(id);
      assert.equal(done?.status, 'succeeded');
      assert.deepEqual(done?.output, Buffer.from('"ok"'));
      assert.equal(done?.attemptHistory.length, 1);
    }
  });

  it('fences results: only the lease that ran an attempt writes it', async () => {
    const { id } = await queue.enqueue(queued('q-fence'));
    const [claimed] = await claimOwn('runner-a', 'q-fence');
    assert.equal(claimed?.id, id);
    assert.equal(await queue.complete('runner-b', [result(claimed)]), 0, 'another owner cannot write it');
    assert.equal(
      await queue.complete('runner-a', [result(claimed, { attempt: claimed.attempt + 1 })]),
      0,
      'nor can a later attempt number',
    );
    assert.equal((await history.find(id))?.status, 'running');
    assert.equal(await queue.complete('runner-a', [result(claimed)]), 1);
    assert.equal(await queue.complete('runner-a', [result(claimed)]), 0, 'a result is written once');
  });

  it('retries a failed attempt when it comes due, with its history', async () => {
    const { id } = await queue.enqueue(queued('q-retry'));
    const [first] = await claimOwn('runner-a', 'q-retry');
    await queue.complete('runner-a', [
      result(first!, { status: 'failed', error: 'ValueError: no', output: Buffer.alloc(0), nextRunAt: new Date() }),
    ]);
    const [second] = await claimOwn('runner-b', 'q-retry');
    assert.equal(second?.id, id);
    assert.equal(second?.attempt, 2);
    await queue.complete('runner-b', [result(second)]);
    const detail = await history.find(id);
    assert.deepEqual(
      detail?.attemptHistory.map((attempt) => attempt.error),
      ['ValueError: no', ''],
    );
    assert.equal(detail?.attempts, 2);
  });

  it('takes back a lease whose runner died, and dead-letters it on its last attempt', async () => {
    const { id } = await queue.enqueue(queued('q-expire', { maxAttempts: 2 }));
    const expire = (): Promise<unknown> =>
      db.database.sql.run(`UPDATE invocations SET next_run_at = now() - interval '1 second' WHERE id = $1`, [id]);
    const [first] = await claimOwn('runner-dead', 'q-expire');
    assert.equal(first?.attempt, 1);
    await expire();
    const [second] = await claimOwn('runner-b', 'q-expire');
    assert.equal(second?.attempt, 2, 'the expired lease was claimed again');
    await expire();
    assert.ok((await queue.deadLetterExpired()) >= 1);
    const detail = await history.find(id);
    assert.equal(detail?.status, 'dead_letter');
    assert.match(detail?.error ?? '', /^LeaseExpired/);
    assert.equal(detail?.attemptHistory.filter((attempt) => attempt.error.startsWith('LeaseExpired')).length, 2);
    assert.equal(await queue.complete('runner-b', [result(second)]), 0, 'the dead runner’s successor lost it too');
  });

  it('stores one invocation per idempotency key and function', async () => {
    const first = await queue.enqueue(queued('q-idem', { idempotencyKey: 'order-7' }));
    const again = await queue.enqueue(queued('q-idem', { idempotencyKey: 'order-7' }));
    const otherFunction = await queue.enqueue(queued('q-idem-other', { idempotencyKey: 'order-7' }));
    assert.equal(again.id, first.id);
    assert.equal(again.duplicate, true);
    assert.notEqual(otherFunction.id, first.id);
    const page = await history.list({ functionName: 'q-idem' }, 100, 0);
    assert.equal(page.total, 1);
  });

  it('keeps NUL bytes out of text columns', async () => {
    const { id } = await queue.enqueue(queued('q-nul'));
    const [claimed] = await claimOwn('runner-a', 'q-nul');
    await queue.complete('runner-a', [result(claimed!, { status: 'dead_letter', error: 'bad\0byte', log: 'a\0b' })]);
    const detail = await history.find(id);
    assert.equal(detail?.error, 'bad\uFFFDbyte');
    assert.equal(detail?.log, 'a\uFFFDb');
  });
});
