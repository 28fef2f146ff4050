import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity } from '../entities/index.js';
import { notifyChannels, type ApiKeyChange } from '../database/notify-channels.js';
import type { ApiKeyRecord, ApiKeyScope } from './api-key-record.js';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** API keys. The secret exists only in the value create() returns; the table keeps its sha256. */
export class ApiKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  async create(scope: ApiKeyScope, description: string): Promise<{ key: string; record: ApiKeyRecord }> {
    const key = `nova_${randomBytes(30).toString('base64url')}`;
    const entity: ApiKeyEntity = {
      id: randomUUID(),
      prefix: key.slice(0, 12),
      keySha256: hashApiKey(key),
      scope,
      description,
      createdAt: new Date(),
      revokedAt: null,
    };
    await this.dataSource.transaction(async (manager) => {
      await manager.insert(ApiKeyEntity, entity);
      await notifyKeys(manager.query.bind(manager), { op: 'created', id: entity.id });
    });
    return { key, record: toRecord(entity) };
  }

  /** The live (not revoked) key with this secret, if any. */
  async findActiveByKey(key: string): Promise<ApiKeyRecord | undefined> {
    const entity = await this.dataSource.manager.findOneBy(ApiKeyEntity, { keySha256: hashApiKey(key) });
    return entity && !entity.revokedAt ? toRecord(entity) : undefined;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const entities = await this.dataSource.manager.find(ApiKeyEntity, { order: { createdAt: 'ASC' } });
    return entities.map(toRecord);
  }

  /** Revokes by id or by prefix. Returns false when no live key matched. */
  async revoke(idOrPrefix: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const matches = await manager.query<{ id: string }[]>(
        `SELECT id FROM api_keys WHERE revoked_at IS NULL AND (id::text = $1 OR prefix = $1)`,
        [idOrPrefix],
      );
      if (matches.length !== 1) return false;
      const id = matches[0]!.id;
      await manager.update(ApiKeyEntity, { id }, { revokedAt: new Date() });
      await notifyKeys(manager.query.bind(manager), { op: 'revoked', id });
      return true;
    });
  }
}

async function notifyKeys(
  query: (sql: string, params: unknown[]) => Promise<unknown>,
  change: ApiKeyChange,
): Promise<void> {
  await query('SELECT pg_notify($1, $2)', [notifyChannels.apiKeys, JSON.stringify(change)]);
}

function toRecord(entity: ApiKeyEntity): ApiKeyRecord {
  return {
    id: entity.id,
    prefix: entity.prefix,
    scope: entity.scope as ApiKeyScope,
    description: entity.description,
    createdAt: entity.createdAt,
    revokedAt: entity.revokedAt ?? undefined,
  };
}
