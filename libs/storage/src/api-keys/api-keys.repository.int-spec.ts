import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { NotificationListener } from '../database/notification-listener.js';
import { notifyChannels, type ApiKeyChange } from '../database/notify-channels.js';
import { waitUntil } from '../../../../test/support/wait.js';
import { ApiKeysRepository, hashApiKey } from './api-keys.repository.js';

// Every query of ApiKeysRepository, run against the real PostgreSQL.
describe('ApiKeysRepository (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let keys: ApiKeysRepository;
  const changes: ApiKeyChange[] = [];

  before(async () => {
    db = await openIntegrationDatabase();
    module = await compileFeature(db.database, { imports: [] });
    keys = module.get(ApiKeysRepository);
    await module
      .get(NotificationListener)
      .subscribe(notifyChannels.apiKeys, (payload) => changes.push(JSON.parse(payload) as ApiKeyChange));
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  it('makes the first admin key once, however many processes ask at once, and none once any key exists', async () => {
    const attempts = await Promise.all(Array.from({ length: 4 }, () => keys.createFirstAdmin('bootstrap')));
    const made = attempts.filter((attempt) => attempt !== undefined);
    assert.equal(made.length, 1);
    assert.equal(made[0]?.record.scope, 'admin');
    assert.deepEqual(await keys.findActiveByKey(made[0].key), made[0].record);
    assert.equal(await keys.createFirstAdmin('again'), undefined);
  });

  it('stores only the hash of a new key, finds it by its secret, and lists it', async () => {
    const { key, record } = await keys.create('invoke', 'ci');
    assert.match(key, /^nova_/);
    assert.equal(record.prefix, key.slice(0, 12));
    const stored = await db.database.sql.rows<{ key_sha256: string }>('SELECT key_sha256 FROM api_keys WHERE id = $1', [
      record.id,
    ]);
    assert.deepEqual(stored, [{ key_sha256: hashApiKey(key) }]);
    assert.deepEqual(await keys.findActiveByKey(key), record);
    assert.equal(await keys.findActiveByKey(`${key}x`), undefined);
    assert.ok((await keys.list()).some((listed) => listed.id === record.id));
    await waitUntil('the created notification', () => changes.some((c) => c.id === record.id && c.op === 'created'));
  });

  it('revokes by id or by prefix, once, and only an unambiguous live key', async () => {
    const byId = await keys.create('admin', '');
    const byPrefix = await keys.create('admin', '');
    const revoked = await keys.revoke(byId.record.id);
    assert.equal(revoked?.id, byId.record.id);
    assert.ok(revoked?.revokedAt instanceof Date);
    assert.equal(await keys.revoke(byId.record.id), undefined, 'already revoked');
    assert.equal((await keys.revoke(byPrefix.record.prefix))?.id, byPrefix.record.id);
    assert.equal(await keys.findActiveByKey(byId.key), undefined);
    assert.equal(await keys.revoke('nova_nothing'), undefined);
    const listed = (await keys.list()).find((record) => record.id === byId.record.id);
    assert.ok(listed?.revokedAt instanceof Date);
    await waitUntil('the revoked notification', () =>
      changes.some((c) => c.id === byPrefix.record.id && c.op === 'revoked'),
    );
  });
});
