import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { waitUntil } from '../../../../test/support/wait.js';
import { NotificationListener } from '../database/notification-listener.js';
import { notifyChannels, type FunctionChange } from '../database/notify-channels.js';
import type { NewFunction } from './function-record.js';
import { FunctionsRepository, sha256Hex } from './functions.repository.js';
import { newFunction } from '../../../../test/support/records.js';

function spec(name: string, code?: Buffer): NewFunction {
  return newFunction(name, { envVars: { GREETING: 'hi' }, ...(code ? { code } : {}) });
}

// Every query of FunctionsRepository, run against the real PostgreSQL.
describe('FunctionsRepository (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let functions: FunctionsRepository;
  const changes: FunctionChange[] = [];

  before(async () => {
    db = await openIntegrationDatabase();
    module = await compileFeature(db.database, { imports: [] });
    functions = module.get(FunctionsRepository);
    await module
      .get(NotificationListener)
      .subscribe(notifyChannels.functions, (payload) => changes.push(JSON.parse(payload) as FunctionChange));
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  it('creates a function with version 1, a sandbox id, its settings, and notifies', async () => {
    const created = await functions.create(spec('repo-create'));
    assert.notEqual(created, 'name_taken');
    if (created === 'name_taken') return;
    assert.equal(created.version, 1);
    assert.equal(created.codeHash, sha256Hex(spec('repo-create').code));
    assert.ok(Number.isInteger(created.sandboxId) && created.sandboxId > 0);
    assert.deepEqual(created.envVars, { GREETING: 'hi' });
    assert.deepEqual(await functions.findByName('repo-create'), created);
    assert.equal(await functions.create(spec('repo-create')), 'name_taken');
    await waitUntil('the created notification', () =>
      changes.some((change) => change.name === 'repo-create' && change.op === 'created'),
    );
  });

  it('lists by name with the total', async () => {
    for (const name of ['repo-list-b', 'repo-list-a']) await functions.create(spec(name));
    const all = await functions.list(1000, 0);
    const names = all.functions.map((record) => record.name);
    assert.deepEqual(names, [...names].sort());
    assert.equal(all.total, all.functions.length);
    const page = await functions.list(1, 1);
    assert.equal(page.functions.length, 1);
    assert.equal(page.total, all.total);
  });

  it('updates under a lock, lets the check refuse, and answers undefined for an absent name', async () => {
    await functions.create(spec('repo-update'));
    const updated = await functions.update('repo-update', { memoryMb: 256, envVars: {} }, () => undefined);
    assert.equal(updated?.memoryMb, 256);
    assert.deepEqual((await functions.findByName('repo-update'))?.envVars, {});
    await assert.rejects(
      functions.update('repo-update', { memoryMb: 512 }, () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.equal((await functions.findByName('repo-update'))?.memoryMb, 256, 'a refused update changes nothing');
    assert.equal(await functions.update('repo-absent', { memoryMb: 256 }, () => undefined), undefined);
  });

  it('adds versions, stores shared code once, and finds each version’s code', async () => {
    const first = spec('repo-versions');
    const created = await functions.create(first);
    assert.ok(created !== 'name_taken');
    const second = Buffer.from('def handler(e): return 2\n');
    assert.deepEqual(await functions.addVersion('repo-versions', second, 'handler'), {
      version: 2,
      codeHash: sha256Hex(second),
      unchanged: false,
    });
    assert.deepEqual(await functions.addVersion('repo-versions', second, 'handler'), {
      version: 2,
      codeHash: sha256Hex(second),
      unchanged: true,
    });
    assert.deepEqual((await functions.findCode('repo-versions', 1))?.code, first.code);
    assert.deepEqual((await functions.findCode('repo-versions'))?.code, second);
    // The same code with another handler is a version of its own.
    assert.equal((await functions.addVersion('repo-versions', second, 'main.run'))?.version, 3);
    assert.equal((await functions.findByName('repo-versions'))?.handler, 'main.run');
    assert.deepEqual(await functions.findVersion(created.id, 2), {
      version: 2,
      codeHash: sha256Hex(second),
      handler: 'handler',
    });
    assert.equal(await functions.findVersion(created.id, 9), undefined);
    const versions = await functions.listVersions('repo-versions');
    assert.deepEqual(
      versions?.map((v) => [v.version, v.sizeBytes, v.handler]),
      [
        [1, first.code.length, 'handler'],
        [2, second.length, 'handler'],
        [3, second.length, 'main.run'],
      ],
    );
    assert.equal(await functions.addVersion('repo-absent', second, 'handler'), undefined);
    assert.equal(await functions.listVersions('repo-absent'), undefined);
    assert.equal(await functions.findCode('repo-versions', 9), undefined);
  });

  it('makes a version of the latest code when an update changes the handler', async () => {
    await functions.create(spec('repo-handler'));
    const updated = await functions.update('repo-handler', { handler: 'other.handler' }, () => undefined);
    assert.equal(updated?.version, 2);
    assert.equal(updated?.handler, 'other.handler');
    const stored = await functions.findByName('repo-handler');
    assert.equal(stored?.version, 2);
    assert.equal(stored?.codeHash, sha256Hex(spec('repo-handler').code));
    const same = await functions.update('repo-handler', { handler: 'other.handler', memoryMb: 256 }, () => undefined);
    assert.equal(same?.version, 2, 'the same handler makes no version');
  });

  it('sets, moves, lists and deletes aliases, refusing versions that do not exist', async () => {
    await functions.create(spec('repo-alias'));
    await functions.addVersion('repo-alias', Buffer.from('def handler(e): return 2\n'), 'handler');
    const route = { version: 1, canaryVersion: 2, canaryWeight: 10 };
    const set = await functions.setAlias('repo-alias', { name: 'prod', description: 'live', ...route });
    assert.ok(typeof set === 'object' && 'name' in set);
    assert.equal(set.functionName, 'repo-alias');
    assert.deepEqual([set.version, set.canaryVersion, set.canaryWeight, set.description], [1, 2, 10, 'live']);
    assert.deepEqual((await functions.findByName('repo-alias'))?.aliases, { prod: route });
    const moved = await functions.setAlias('repo-alias', {
      name: 'prod',
      description: '',
      version: 2,
      canaryVersion: 0,
      canaryWeight: 0,
    });
    assert.ok(typeof moved === 'object' && 'name' in moved);
    assert.deepEqual([moved.version, moved.canaryVersion, moved.createdAt], [2, 0, set.createdAt]);
    assert.deepEqual(
      await functions.setAlias('repo-alias', {
        name: 'x',
        description: '',
        version: 7,
        canaryVersion: 0,
        canaryWeight: 0,
      }),
      { missingVersion: 7 },
    );
    assert.equal(
      await functions.setAlias('repo-absent', {
        name: 'x',
        description: '',
        version: 1,
        canaryVersion: 0,
        canaryWeight: 0,
      }),
      'function_not_found',
    );
    assert.deepEqual(
      (await functions.listAliases('repo-alias'))?.map((alias) => alias.name),
      ['prod'],
    );
    assert.deepEqual(
      (await functions.listVersions('repo-alias'))?.map((v) => v.aliases),
      [[], ['prod']],
    );
    assert.equal(await functions.listAliases('repo-absent'), undefined);
    assert.equal(await functions.deleteAlias('repo-alias', 'prod'), true);
    assert.equal(await functions.deleteAlias('repo-alias', 'prod'), false);
    assert.equal(await functions.deleteAlias('repo-absent', 'prod'), 'function_not_found');
    assert.deepEqual(await functions.listAliases('repo-alias'), []);
    await waitUntil('the alias notifications', () =>
      ['alias_set', 'alias_deleted'].every((op) => changes.some((c) => c.name === 'repo-alias' && c.op === op)),
    );
  });

  it('deletes a function and the code no other function uses', async () => {
    const shared = Buffer.from('def handler(e): return "shared"\n');
    await functions.create(spec('repo-delete-a', shared));
    await functions.create(spec('repo-delete-b', shared));
    assert.equal(await functions.delete('repo-delete-a'), true);
    assert.deepEqual((await functions.findCode('repo-delete-b'))?.code, shared, 'code still used is kept');
    assert.equal(await functions.delete('repo-delete-b'), true);
    assert.equal(await functions.delete('repo-delete-b'), false);
    assert.equal(await functions.findByName('repo-delete-b'), undefined);
    await waitUntil('the deleted notification', () =>
      changes.some((change) => change.name === 'repo-delete-b' && change.op === 'deleted'),
    );
  });
});
