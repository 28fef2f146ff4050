import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { InvocationsRepository } from './invocations.repository.js';
import type { InvocationRecord } from './invocation-record.js';

function record(id: string, functionName: string, overrides: Partial<InvocationRecord> = {}): InvocationRecord {
  return {
    id,
    correlationId: `call-${id}`,
    kind: 'sync',
    functionName,
    version: 1,
    durationMs: 10,
    success: true,
    coldStart: false,
    error: '',
    log: '',
    createdAt: new Date(),
    ...overrides,
  };
}

// Every query of InvocationsRepository, run against the real PostgreSQL.
describe('InvocationsRepository (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let invocations: InvocationsRepository;

  before(async () => {
    db = await openIntegrationDatabase();
    module = await compileFeature(db.database, { imports: [] });
    invocations = module.get(InvocationsRepository);
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  it('inserts a batch in one statement and counts the ids it already had', async () => {
    const batch = [record('inv-1', 'h-insert'), record('inv-2', 'h-insert', { success: false, error: 'E: x' })];
    assert.equal(await invocations.insertBatch(batch), 2);
    assert.equal(await invocations.insertBatch([record('inv-2', 'h-insert'), record('inv-3', 'h-insert')]), 1);
    const failed = await invocations.find('inv-2');
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.error, 'E: x', 'the first record of an id is kept');
    assert.equal(failed?.isAsync, false);
    assert.equal(await invocations.insertBatch([]), 0);
  });

  it('scrubs NUL from error and log text', async () => {
    await invocations.insertBatch([record('inv-nul', 'h-nul', { success: false, error: 'a\0b', log: '\0' })]);
    const found = await invocations.find('inv-nul');
    assert.equal(found?.error, 'a\uFFFDb');
    assert.equal(found?.log, '\uFFFD');
  });

  it('lists newest first with filters and a total, leaving out logs and outputs', async () => {
    const at = (ms: number): Date => new Date(Date.UTC(2026, 0, 1) + ms);
    await invocations.insertBatch([
      record('list-1', 'h-list', { createdAt: at(1), log: 'printed' }),
      record('list-2', 'h-list', { createdAt: at(2), success: false, error: 'E' }),
      record('list-3', 'h-list', { createdAt: at(3) }),
    ]);
    const page = await invocations.list({ functionName: 'h-list' }, 2, 0);
    assert.deepEqual(
      page.invocations.map((inv) => inv.id),
      ['list-3', 'list-2'],
    );
    assert.equal(page.total, 3);
    assert.equal(page.invocations[0]?.log, '');
    const failed = await invocations.list({ functionName: 'h-list', status: 'failed' }, 10, 0);
    assert.deepEqual(
      failed.invocations.map((inv) => inv.id),
      ['list-2'],
    );
    assert.equal((await invocations.find('list-1'))?.log, 'printed', 'one invocation comes whole');
    assert.equal(await invocations.find('absent'), undefined);
  });

  it('computes totals and percentiles over a window, per function or for all', async () => {
    await invocations.insertBatch(
      Array.from({ length: 100 }, (_, i) =>
        record(`metric-${i}`, 'h-metrics', { durationMs: i + 1, success: i % 10 !== 0 }),
      ),
    );
    const metrics = await invocations.metrics('h-metrics', 3600);
    assert.equal(metrics.total, 100);
    assert.equal(metrics.failed, 10);
    assert.equal(metrics.successful, 90);
    assert.equal(Math.round(metrics.avgDurationMs * 10) / 10, 50.5);
    assert.equal(Math.round(metrics.p50DurationMs), 51);
    assert.ok(metrics.p99DurationMs > 98 && metrics.p99DurationMs <= 100);
    const all = await invocations.metrics(undefined, 3600);
    assert.ok(all.total >= 100);
    assert.equal((await invocations.metrics('h-none', 3600)).total, 0);
  });
});
