import { createHash, randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { CodeBlobEntity, FunctionEntity, FunctionVersionEntity } from '../entities/index.js';
import { notifyChannels, type FunctionChange } from '../database/notify-channels.js';
import type {
  FunctionCode,
  FunctionNetwork,
  FunctionRecord,
  FunctionSettingsPatch,
  FunctionVersionRecord,
  NewFunction,
} from './function-record.js';

const UNIQUE_VIOLATION = '23505';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Functions and their immutable code versions. Code is stored once per
 * distinct content (code_blobs, keyed by sha256) however many versions or
 * functions use it. Every write notifies nova_functions in its transaction.
 */
export class FunctionsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Returns 'name_taken' when a function of that name exists. */
  async create(spec: NewFunction): Promise<FunctionRecord | 'name_taken'> {
    const codeHash = sha256Hex(spec.code);
    try {
      return await this.dataSource.transaction(async (manager) => {
        const now = new Date();
        await this.storeBlob(manager, codeHash, spec.code, now);
        const entity = manager.create(FunctionEntity, {
          id: randomUUID(),
          name: spec.name,
          runtime: spec.runtime,
          handler: spec.handler,
          mode: spec.mode,
          memoryMb: spec.memoryMb,
          timeoutS: spec.timeoutS,
          minReplicas: spec.minReplicas,
          maxReplicas: spec.maxReplicas,
          envVars: spec.envVars,
          network: spec.network,
          latestVersion: 1,
          createdAt: now,
          updatedAt: now,
        });
        await manager.insert(FunctionEntity, entity);
        const [assigned] = await manager.query<{ sandbox_id: number }[]>(
          'SELECT sandbox_id FROM functions WHERE id = $1',
          [entity.id],
        );
        entity.sandboxId = assigned!.sandbox_id;
        await manager.insert(FunctionVersionEntity, {
          functionId: entity.id,
          version: 1,
          codeSha256: codeHash,
          createdAt: now,
        });
        await notify(manager, { op: 'created', name: spec.name, version: 1 });
        return toRecord(entity, codeHash);
      });
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return 'name_taken';
      throw error;
    }
  }

  async findByName(name: string): Promise<FunctionRecord | undefined> {
    const rows = await this.dataSource.query<FunctionRow[]>(`${SELECT_FUNCTION} WHERE f.name = $1`, [name]);
    return rows[0] ? rowToRecord(rows[0]) : undefined;
  }

  /** A page ordered by name, and the number of all functions. */
  async list(limit: number, offset: number): Promise<{ functions: FunctionRecord[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.dataSource.query<FunctionRow[]>(`${SELECT_FUNCTION} ORDER BY f.name LIMIT $1 OFFSET $2`, [limit, offset]),
      this.dataSource.query<{ total: string }[]>('SELECT count(*) AS total FROM functions'),
    ]);
    return { functions: rows.map(rowToRecord), total: Number(count[0]?.total ?? 0) };
  }

  /**
   * Applies the patch under a row lock; check sees the current record and the
   * patched one and may throw to refuse it. Returns undefined when absent.
   */
  async update(
    name: string,
    patch: FunctionSettingsPatch,
    check: (current: FunctionRecord, next: FunctionRecord) => void,
  ): Promise<FunctionRecord | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await manager.query<FunctionRow[]>(`${SELECT_FUNCTION} WHERE f.name = $1 FOR UPDATE OF f`, [name]);
      if (!rows[0]) return undefined;
      const current = rowToRecord(rows[0]);
      const next: FunctionRecord = { ...current, ...patch, updatedAt: new Date() };
      check(current, next);
      await manager.update(
        FunctionEntity,
        { id: current.id },
        {
          memoryMb: next.memoryMb,
          timeoutS: next.timeoutS,
          minReplicas: next.minReplicas,
          maxReplicas: next.maxReplicas,
          envVars: next.envVars,
          network: next.network,
          updatedAt: next.updatedAt,
        },
      );
      await notify(manager, { op: 'updated', name, version: next.version });
      return next;
    });
  }

  /** Stores code as the next version. Returns undefined when the function is absent. */
  async addVersion(name: string, code: Buffer): Promise<{ version: number; codeHash: string } | undefined> {
    const codeHash = sha256Hex(code);
    return this.dataSource.transaction(async (manager) => {
      const now = new Date();
      const bumped = await manager.query<VersionRow[] | [VersionRow[], number]>(
        `UPDATE functions SET latest_version = latest_version + 1, updated_at = $2
         WHERE name = $1 RETURNING id, latest_version`,
        [name, now],
      );
      const row = returnedRows(bumped)[0];
      if (!row) return undefined;
      await this.storeBlob(manager, codeHash, code, now);
      await manager.insert(FunctionVersionEntity, {
        functionId: row.id,
        version: row.latest_version,
        codeSha256: codeHash,
        createdAt: now,
      });
      await notify(manager, { op: 'code_updated', name, version: row.latest_version });
      return { version: row.latest_version, codeHash };
    });
  }

  /** The code of one version (the latest when version is omitted). */
  async findCode(name: string, version?: number): Promise<FunctionCode | undefined> {
    const rows = await this.dataSource.query<{ version: number; sha256: string; code: Buffer }[]>(
      `SELECT v.version, b.sha256, b.code
         FROM functions f
         JOIN function_versions v ON v.function_id = f.id AND v.version = COALESCE($2, f.latest_version)
         JOIN code_blobs b ON b.sha256 = v.code_sha256
        WHERE f.name = $1`,
      [name, version ?? null],
    );
    const row = rows[0];
    return row ? { version: row.version, codeHash: row.sha256, code: row.code } : undefined;
  }

  /** Every stored version of a function, oldest first; undefined when the function is absent. */
  async listVersions(name: string): Promise<FunctionVersionRecord[] | undefined> {
    const rows = await this.dataSource.query<
      { version: number | null; code_sha256: string | null; size_bytes: number | null; created_at: Date | null }[]
    >(
      `SELECT v.version, v.code_sha256, b.size_bytes, v.created_at
         FROM functions f
         LEFT JOIN function_versions v ON v.function_id = f.id
         LEFT JOIN code_blobs b ON b.sha256 = v.code_sha256
        WHERE f.name = $1 ORDER BY v.version`,
      [name],
    );
    if (rows.length === 0) return undefined;
    return rows
      .filter((row) => row.version !== null)
      .map((row) => ({
        version: row.version!,
        codeHash: row.code_sha256!,
        sizeBytes: row.size_bytes!,
        createdAt: row.created_at!,
      }));
  }

  /** Deletes the function, its versions and code no other version uses. */
  async delete(name: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      const deleted = await manager.query<VersionRow[] | [VersionRow[], number]>(
        'DELETE FROM functions WHERE name = $1 RETURNING id, latest_version',
        [name],
      );
      const row = returnedRows(deleted)[0];
      if (!row) return false;
      await manager.query(
        `DELETE FROM code_blobs b
          WHERE NOT EXISTS (SELECT 1 FROM function_versions v WHERE v.code_sha256 = b.sha256)`,
      );
      await notify(manager, { op: 'deleted', name, version: row.latest_version });
      return true;
    });
  }

  private async storeBlob(manager: EntityManager, sha256: string, code: Buffer, now: Date): Promise<void> {
    await manager
      .createQueryBuilder()
      .insert()
      .into(CodeBlobEntity)
      .values({ sha256, code, sizeBytes: code.length, createdAt: now })
      .orIgnore()
      .execute();
  }
}

/** TypeORM's Postgres driver answers UPDATE/DELETE ... RETURNING with [rows, affected]. */
function returnedRows<T>(result: T[] | [T[], number]): T[] {
  return Array.isArray(result[0]) ? result[0] : (result as T[]);
}

async function notify(manager: EntityManager, change: FunctionChange): Promise<void> {
  await manager.query('SELECT pg_notify($1, $2)', [notifyChannels.functions, JSON.stringify(change)]);
}

const SELECT_FUNCTION = `
  SELECT f.*, v.code_sha256
    FROM functions f
    JOIN function_versions v ON v.function_id = f.id AND v.version = f.latest_version`;

interface VersionRow {
  id: string;
  latest_version: number;
}

interface FunctionRow {
  id: string;
  name: string;
  runtime: string;
  handler: string;
  mode: string;
  memory_mb: number;
  timeout_s: number;
  min_replicas: number;
  max_replicas: number;
  env_vars: Record<string, string>;
  network: string;
  sandbox_id: number;
  latest_version: number;
  code_sha256: string;
  created_at: Date;
  updated_at: Date;
}

function rowToRecord(row: FunctionRow): FunctionRecord {
  return {
    id: row.id,
    name: row.name,
    runtime: row.runtime,
    handler: row.handler,
    mode: row.mode,
    memoryMb: row.memory_mb,
    timeoutS: row.timeout_s,
    minReplicas: row.min_replicas,
    maxReplicas: row.max_replicas,
    envVars: row.env_vars,
    network: row.network as FunctionNetwork,
    sandboxId: row.sandbox_id,
    version: row.latest_version,
    codeHash: row.code_sha256,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRecord(entity: FunctionEntity, codeHash: string): FunctionRecord {
  return {
    id: entity.id,
    name: entity.name,
    runtime: entity.runtime,
    handler: entity.handler,
    mode: entity.mode,
    memoryMb: entity.memoryMb,
    timeoutS: entity.timeoutS,
    minReplicas: entity.minReplicas,
    maxReplicas: entity.maxReplicas,
    envVars: entity.envVars,
    network: entity.network as FunctionNetwork,
    sandboxId: entity.sandboxId,
    version: entity.latestVersion,
    codeHash,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
  };
}
