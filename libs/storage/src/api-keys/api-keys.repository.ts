import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { notifyChannels, type ApiKeyChange } from '../database/notify-channels.js';
import type { Sql } from '../database/sql.js';
import type { ApiKeyRecord, ApiKeyScope } from './api-key-record.js';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** API keys. The secret exists only in the value create() returns; the table keeps its sha256. */
export class ApiKeysRepository {
  constructor(private readonly sql: Sql) {}

  async create(scope: ApiKeyScope, description: string): Promise<{ key: string; record: ApiKeyRecord }> {
    const key = `nova_${randomBytes(30).toString('base64url')}`;
    const row = await this.sql.transaction(async (tx) => {
      const inserted = await tx.one<ApiKeyRow>(
        `INSERT INTO api_keys (id, prefix, key_sha256, scope, description, created_at)
         VALUES ($1, $2, $3, $4, $5, now()) RETURNING ${COLUMNS}`,
        [randomUUID(), key.slice(0, 12), hashApiKey(key), scope, description],
      );
      await notify(tx, { op: 'created', id: inserted!.id });
      return inserted!;
    });
    return { key, record: toApiKeyRecord(row) };
  }

  /** The live (not revoked) key with this secret, if any. */
  async findActiveByKey(key: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.sql.one<ApiKeyRow>(
      `SELECT ${COLUMNS} FROM api_keys WHERE key_sha256 = $1 AND revoked_at IS NULL`,
      [hashApiKey(key)],
    );
    return row && toApiKeyRecord(row);
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.sql.rows<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
    return rows.map(toApiKeyRecord);
  }

  /**
   * The bootstrap: an admin key, made only while no key exists at all, so
   * processes starting together on one database make one between them.
   */
  async createFirstAdmin(description: string): Promise<{ key: string; record: ApiKeyRecord } | undefined> {
    return this.sql.transaction(async (tx) => {
      await tx.run("SELECT pg_advisory_xact_lock(hashtext('nova_first_admin_key'))");
      const any = await tx.one<{ id: string }>('SELECT id FROM api_keys LIMIT 1');
      if (any) return undefined;
      return new ApiKeysRepository(tx).create('admin', description);
    });
  }

  /** Revokes by id or by prefix. Returns the revoked key; undefined when no single live key matched. */
  async revoke(idOrPrefix: string): Promise<ApiKeyRecord | undefined> {
    return this.sql.transaction(async (tx) => {
      const matches = await tx.rows<{ id: string }>(
        `SELECT id FROM api_keys WHERE revoked_at IS NULL AND (id::text = $1 OR prefix = $1) FOR UPDATE`,
        [idOrPrefix],
      );
      if (matches.length !== 1) return undefined;
      const id = matches[0]!.id;
      const row = await tx.one<ApiKeyRow>(`UPDATE api_keys SET revoked_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [
        id,
      ]);
      await notify(tx, { op: 'revoked', id });
      return toApiKeyRecord(row!);
    });
  }
}

function notify(tx: Sql, change: ApiKeyChange): Promise<void> {
  return tx.notify(notifyChannels.apiKeys, JSON.stringify(change));
}

const COLUMNS = 'id, prefix, scope, description, created_at, revoked_at';

interface ApiKeyRow {
  id: string;
  prefix: string;
  scope: string;
  description: string;
  created_at: Date;
  revoked_at: Date | null;
}

function toApiKeyRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    prefix: row.prefix,
    scope: row.scope as ApiKeyScope,
    description: row.description,
    createdAt: row.created_at,
    revokedAt: row.revoked_at ?? undefined,
  };
}
