import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import { FunctionsRepository, type FunctionRecord } from '#storage';
import { DomainError, FunctionNotFoundError } from '#server';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { waitUntil } from '../../../../test/support/wait.js';
import { FunctionCatalog } from './function-catalog.js';
import { FunctionsModule } from './functions.module.js';
import { newFunction } from '../../../../test/support/records.js';

// The catalog's informer loop: NOTIFY from a write reaches the cache
// without a query on the call path.
describe('FunctionCatalog (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let catalog: FunctionCatalog;
  let functions: FunctionsRepository;
  const seen: { name: string; record: FunctionRecord | undefined }[] = [];

  before(async () => {
    db = await openIntegrationDatabase();
    functions = new FunctionsRepository(db.database.sql);
    // Present before the module starts: loaded by the first reload, not by a notification.
    await functions.create(newFunction('cat-before'));
    module = await compileFeature(db.database, { imports: [FunctionsModule] });
    catalog = module.get(FunctionCatalog);
    catalog.onChange((name, record) => seen.push({ name, record }));
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  it('loads every function at start', () => {
    assert.equal(catalog.peek('cat-before')?.name, 'cat-before');
  });

  it('follows creation, settings, new code and deletion through NOTIFY alone', async () => {
    await functions.create(newFunction('cat-live'));
    await waitUntil('the created function in the cache', () => catalog.peek('cat-live') !== undefined, 5000);

    await functions.update('cat-live', { memoryMb: 512 }, () => undefined);
    await waitUntil('the new memory size', () => catalog.peek('cat-live')?.memoryMb === 512, 5000);

    const code = Buffer.from('def handler(e): return 2\n');
    await functions.addVersion('cat-live', code, 'handler');
    await waitUntil('version 2', () => catalog.peek('cat-live')?.version === 2, 5000);
    assert.deepEqual(await catalog.codeOf(catalog.peek('cat-live')!), code);

    const before = catalog.peek('cat-live')!;
    await functions.delete('cat-live');
    await waitUntil('the deletion', () => catalog.peek('cat-live') === undefined, 5000);
    assert.deepEqual(
      seen.filter((change) => change.name === 'cat-live').map((change) => change.record?.version ?? 'deleted'),
      [1, 1, 2, 'deleted'],
    );

    // A call that had the old definition in hand: its code is gone, and it
    // is told so as a retryable conflict, not an internal error.
    const gone = await catalog.codeOf(before).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(gone instanceof DomainError);
    assert.equal(gone.kind, 'aborted');
    assert.equal(gone.code, 'FUNCTION_VERSION_GONE');
  });

  it('finds a function created a moment ago (its notification may not have come yet), and says NOT_FOUND for none', async () => {
    await functions.create(newFunction('cat-miss'));
    assert.equal((await catalog.require('cat-miss')).name, 'cat-miss');
    await assert.rejects(
      Promise.resolve().then(() => catalog.require('cat-absent')),
      FunctionNotFoundError,
    );
  });
});
