import { createHash, randomUUID } from 'node:crypto';
import { notifyChannels, type FunctionChange } from '../database/notify-channels.js';
import { countOf, isUniqueViolation, type Sql } from '../database/sql.js';
import type {
  FunctionCode,
  FunctionNetwork,
  FunctionRecord,
  FunctionSettingsPatch,
  FunctionVersionRecord,
  NewFunction,
} from './function-record.js';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Functions and their immutable code versions. Code is stored once per
 * distinct content (code_blobs, keyed by sha256) however many versions or
 * functions use it. Every write notifies nova_functions in its transaction.
 */
export class FunctionsRepository {
  constructor(private readonly sql: Sql) {}

  /** Returns 'name_taken' when a function of that name exists. */
  async create(spec: NewFunction): Promise<FunctionRecord | 'name_taken'> {
    const codeHash = sha256Hex(spec.code);
    try {
      return await this.sql.transaction(async (tx) => {
        const now = new Date();
        await storeBlob(tx, codeHash, spec.code, now);
        const row = await tx.one<Omit<FunctionRow, 'code_sha256'>>(
          `INSERT INTO functions (id, name, runtime, handler, mode, memory_mb, timeout_s, min_replicas, max_replicas,
                                  env_vars, network, latest_version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, 1, $12, $12)
           RETURNING *`,
          [
            randomUUID(),
            spec.name,
            spec.runtime,
            spec.handler,
            spec.mode,
            spec.memoryMb,
            spec.timeoutS,
            spec.minReplicas,
            spec.maxReplicas,
            JSON.stringify(spec.envVars),
            spec.network,
            now,
          ],
        );
        await tx.run(
          'INSERT INTO function_versions (function_id, version, code_sha256, created_at) VALUES ($1, 1, $2, $3)',
          [row!.id, codeHash, now],
        );
        await notify(tx, { op: 'created', name: spec.name, version: 1 });
        return toFunctionRecord({ ...row!, code_sha256: codeHash });
      });
    } catch (error) {
      if (isUniqueViolation(error)) return 'name_taken';
      throw error;
    }
  }

  async findByName(name: string): Promise<FunctionRecord | undefined> {
    const row = await this.sql.one<FunctionRow>(`${SELECT_FUNCTION} WHERE f.name = $1`, [name]);
    return row && toFunctionRecord(row);
  }

  /** A page ordered by name, and the number of all functions. */
  async list(limit: number, offset: number): Promise<{ functions: FunctionRecord[]; total: number }> {
    const [rows, count] = await Promise.all([
      this.sql.rows<FunctionRow>(`${SELECT_FUNCTION} ORDER BY f.name LIMIT $1 OFFSET $2`, [limit, offset]),
      this.sql.one<{ total: string }>('SELECT count(*) AS total FROM functions'),
    ]);
    return { functions: rows.map(toFunctionRecord), total: countOf(count) };
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
    return this.sql.transaction(async (tx) => {
      const row = await tx.one<FunctionRow>(`${SELECT_FUNCTION} WHERE f.name = $1 FOR UPDATE OF f`, [name]);
      if (!row) return undefined;
      const current = toFunctionRecord(row);
      const next: FunctionRecord = { ...current, ...patch, updatedAt: new Date() };
      check(current, next);
      await tx.run(
        `UPDATE functions
            SET memory_mb = $2, timeout_s = $3, min_replicas = $4, max_replicas = $5, env_vars = $6::jsonb,
                network = $7, updated_at = $8
          WHERE id = $1`,
        [
          current.id,
          next.memoryMb,
          next.timeoutS,
          next.minReplicas,
          next.maxReplicas,
          JSON.stringify(next.envVars),
          next.network,
          next.updatedAt,
        ],
      );
      await notify(tx, { op: 'updated', name, version: next.version });
      return next;
    });
  }

  /** Stores code as the next version. Returns undefined when the function is absent. */
  async addVersion(name: string, code: Buffer): Promise<{ version: number; codeHash: string } | undefined> {
    const codeHash = sha256Hex(code);
    return this.sql.transaction(async (tx) => {
      const now = new Date();
      const row = await tx.one<VersionRow>(
        `UPDATE functions SET latest_version = latest_version + 1, updated_at = $2
         WHERE name = $1 RETURNING id, latest_version`,
        [name, now],
      );
      if (!row) return undefined;
      await storeBlob(tx, codeHash, code, now);
      await tx.run(
        'INSERT INTO function_versions (function_id, version, code_sha256, created_at) VALUES ($1, $2, $3, $4)',
        [row.id, row.latest_version, codeHash, now],
      );
      await notify(tx, { op: 'code_updated', name, version: row.latest_version });
      return { version: row.latest_version, codeHash };
    });
  }

  /** The code of one version (the latest when version is omitted). */
  async findCode(name: string, version?: number): Promise<FunctionCode | undefined> {
    const row = await this.sql.one<{ version: number; sha256: string; code: Buffer }>(
      `SELECT v.version, b.sha256, b.code
         FROM functions f
         JOIN function_versions v ON v.function_id = f.id AND v.version = COALESCE($2, f.latest_version)
         JOIN code_blobs b ON b.sha256 = v.code_sha256
        WHERE f.name = $1`,
      [name, version ?? null],
    );
    return row && { version: row.version, codeHash: row.sha256, code: row.code };
  }

  /** Every stored version of a function, oldest first; undefined when the function is absent. */
  async listVersions(name: string): Promise<FunctionVersionRecord[] | undefined> {
    const rows = await this.sql.rows<{
      version: number | null;
      code_sha256: string | null;
      size_bytes: number | null;
      created_at: Date | null;
    }>(
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
    return this.sql.transaction(async (tx) => {
      const row = await tx.one<VersionRow>('DELETE FROM functions WHERE name = $1 RETURNING id, latest_version', [
        name,
      ]);
      if (!row) return false;
      await tx.run(
        `DELETE FROM code_blobs b
          WHERE NOT EXISTS (SELECT 1 FROM function_versions v WHERE v.code_sha256 = b.sha256)`,
      );
      await notify(tx, { op: 'deleted', name, version: row.latest_version });
      return true;
    });
  }
}

async function storeBlob(tx: Sql, sha256: string, code: Buffer, now: Date): Promise<void> {
  await tx.run(
    `INSERT INTO code_blobs (sha256, code, size_bytes, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (sha256) DO NOTHING`,
    [sha256, code, code.length, now],
  );
}

function notify(tx: Sql, change: FunctionChange): Promise<void> {
  return tx.notify(notifyChannels.functions, JSON.stringify(change));
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

function toFunctionRecord(row: FunctionRow): FunctionRecord {
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
