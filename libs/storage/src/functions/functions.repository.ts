import { createHash, randomUUID } from 'node:crypto';
import { notifyChannels, type FunctionChange } from '../database/notify-channels.js';
import { countOf, isUniqueViolation, type Sql } from '../database/sql.js';
import type {
  AliasRecord,
  AliasRoute,
  FunctionCode,
  FunctionNetwork,
  FunctionRecord,
  FunctionSettingsPatch,
  FunctionVersionRecord,
  NewFunction,
  StoredVersion,
  VersionTarget,
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
        const row = await tx.one<Omit<FunctionRow, 'code_sha256' | 'aliases'>>(
          `INSERT INTO functions (id, name, runtime, handler, mode, memory_mb, timeout_s, min_replicas, max_replicas,
                                  env_vars, network, concurrency, latest_version, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, 1, $13, $13)
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
            spec.concurrency,
            now,
          ],
        );
        await insertVersion(tx, row!.id, 1, codeHash, spec.handler, now);
        await notify(tx, { op: 'created', name: spec.name, version: 1 });
        return toFunctionRecord({ ...row!, code_sha256: codeHash, aliases: [] });
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

  /**
   * Each function's calls at once per node (max_replicas × concurrency), by
   * name: what a router needs to know when a node is saturated.
   */
  async callsPerNode(name?: string): Promise<Map<string, number>> {
    const rows = await this.sql.rows<{ name: string; calls: number }>(
      `SELECT name, max_replicas * concurrency AS calls FROM functions${name === undefined ? '' : ' WHERE name = $1'}`,
      name === undefined ? [] : [name],
    );
    return new Map(rows.map((row) => [row.name, row.calls]));
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
   * patched one and may throw to refuse it. A handler other than the current
   * one makes a new version of the latest code. Returns undefined when absent.
   */
  async update(
    name: string,
    patch: FunctionSettingsPatch,
    check: (current: FunctionRecord, next: FunctionRecord) => void | Promise<void>,
  ): Promise<FunctionRecord | undefined> {
    return this.sql.transaction(async (tx) => {
      const row = await tx.one<FunctionRow>(`${SELECT_FUNCTION} WHERE f.name = $1 FOR UPDATE OF f`, [name]);
      if (!row) return undefined;
      const current = toFunctionRecord(row);
      const next: FunctionRecord = { ...current, ...patch, updatedAt: new Date() };
      await check(current, next);
      if (next.handler !== current.handler) {
        next.version = current.version + 1;
        await insertVersion(tx, current.id, next.version, current.codeHash, next.handler, next.updatedAt);
      }
      await tx.run(
        `UPDATE functions
            SET memory_mb = $2, timeout_s = $3, min_replicas = $4, max_replicas = $5, env_vars = $6::jsonb,
                network = $7, updated_at = $8, handler = $9, latest_version = $10, concurrency = $11
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
          next.handler,
          next.version,
          next.concurrency,
        ],
      );
      await notify(tx, { op: 'updated', name, version: next.version });
      return next;
    });
  }

  /**
   * Stores code (run by handler) as the next version, unless both equal the
   * latest version's: then that version is the answer, unchanged. Returns
   * undefined when the function is absent.
   */
  async addVersion(name: string, code: Buffer, handler: string): Promise<StoredVersion | undefined> {
    const codeHash = sha256Hex(code);
    return this.sql.transaction(async (tx) => {
      const now = new Date();
      const latest = await tx.one<{ id: string; latest_version: number; code_sha256: string; handler: string }>(
        `SELECT f.id, f.latest_version, v.code_sha256, v.handler
           FROM functions f
           JOIN function_versions v ON v.function_id = f.id AND v.version = f.latest_version
          WHERE f.name = $1 FOR UPDATE OF f`,
        [name],
      );
      if (!latest) return undefined;
      if (latest.code_sha256 === codeHash && latest.handler === handler) {
        return { version: latest.latest_version, codeHash, unchanged: true };
      }
      const version = latest.latest_version + 1;
      await storeBlob(tx, codeHash, code, now);
      await insertVersion(tx, latest.id, version, codeHash, handler, now);
      await tx.run('UPDATE functions SET latest_version = $2, handler = $3, updated_at = $4 WHERE id = $1', [
        latest.id,
        version,
        handler,
        now,
      ]);
      await notify(tx, { op: 'code_updated', name, version });
      return { version, codeHash, unchanged: false };
    });
  }

  /** What one version of a function runs; undefined when the function has no such version. */
  async findVersion(functionId: string, version: number): Promise<VersionTarget | undefined> {
    const row = await this.sql.one<{ version: number; code_sha256: string; handler: string }>(
      'SELECT version, code_sha256, handler FROM function_versions WHERE function_id = $1 AND version = $2',
      [functionId, version],
    );
    return row && { version: row.version, codeHash: row.code_sha256, handler: row.handler };
  }

  /**
   * Creates or moves an alias. 'function_not_found', or the version that
   * does not exist, when the target cannot be set.
   */
  async setAlias(
    functionName: string,
    alias: { name: string; description: string } & AliasRoute,
  ): Promise<AliasRecord | 'function_not_found' | { missingVersion: number }> {
    return this.sql.transaction(async (tx) => {
      const fn = await tx.one<{ id: string }>('SELECT id FROM functions WHERE name = $1 FOR UPDATE', [functionName]);
      if (!fn) return 'function_not_found';
      const wanted = alias.canaryVersion > 0 ? [alias.version, alias.canaryVersion] : [alias.version];
      const existing = await tx.rows<{ version: number }>(
        'SELECT version FROM function_versions WHERE function_id = $1 AND version = ANY($2::int[])',
        [fn.id, wanted],
      );
      const missing = wanted.find((version) => !existing.some((row) => row.version === version));
      if (missing !== undefined) return { missingVersion: missing };
      const now = new Date();
      const row = await tx.one<AliasRow>(
        `INSERT INTO function_aliases (function_id, name, version, canary_version, canary_weight, description,
                                       created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
         ON CONFLICT (function_id, name) DO UPDATE
           SET version = EXCLUDED.version, canary_version = EXCLUDED.canary_version,
               canary_weight = EXCLUDED.canary_weight,
               description = CASE WHEN EXCLUDED.description = '' THEN function_aliases.description
                                  ELSE EXCLUDED.description END,
               updated_at = EXCLUDED.updated_at
         RETURNING *, $8::text AS function_name`,
        [
          fn.id,
          alias.name,
          alias.version,
          alias.canaryVersion > 0 ? alias.canaryVersion : null,
          alias.canaryWeight,
          alias.description,
          now,
          functionName,
        ],
      );
      await tx.run('UPDATE functions SET updated_at = $2 WHERE id = $1', [fn.id, now]);
      await notify(tx, { op: 'alias_set', name: functionName, version: alias.version });
      return toAliasRecord(row!);
    });
  }

  /** A function's aliases by name; undefined when the function is absent. */
  async listAliases(functionName: string): Promise<AliasRecord[] | undefined> {
    const rows = await this.sql.rows<AliasRow | { name: null; function_name: string }>(
      `SELECT a.*, f.name AS function_name
         FROM functions f LEFT JOIN function_aliases a ON a.function_id = f.id
        WHERE f.name = $1 ORDER BY a.name`,
      [functionName],
    );
    if (rows.length === 0) return undefined;
    return rows.filter((row): row is AliasRow => row.name !== null).map(toAliasRecord);
  }

  /** True when it was deleted; 'function_not_found' or false (no such alias) otherwise. */
  async deleteAlias(functionName: string, alias: string): Promise<boolean | 'function_not_found'> {
    return this.sql.transaction(async (tx) => {
      const fn = await tx.one<{ id: string }>('SELECT id FROM functions WHERE name = $1 FOR UPDATE', [functionName]);
      if (!fn) return 'function_not_found';
      const deleted = await tx.run('DELETE FROM function_aliases WHERE function_id = $1 AND name = $2', [fn.id, alias]);
      if (deleted.rowCount === 0) return false;
      const now = new Date();
      await tx.run('UPDATE functions SET updated_at = $2 WHERE id = $1', [fn.id, now]);
      await notify(tx, { op: 'alias_deleted', name: functionName, version: 0 });
      return true;
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
      handler: string | null;
      size_bytes: number | null;
      aliases: string[] | null;
      created_at: Date | null;
    }>(
      `SELECT v.version, v.code_sha256, v.handler, b.size_bytes, v.created_at,
              (SELECT array_agg(a.name ORDER BY a.name) FROM function_aliases a
                WHERE a.function_id = f.id AND v.version IN (a.version, a.canary_version)) AS aliases
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
        handler: row.handler!,
        sizeBytes: row.size_bytes!,
        aliases: row.aliases ?? [],
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

function insertVersion(
  tx: Sql,
  functionId: string,
  version: number,
  codeHash: string,
  handler: string,
  now: Date,
): Promise<unknown> {
  return tx.run(
    `INSERT INTO function_versions (function_id, version, code_sha256, handler, created_at)
     VALUES ($1, $2, $3, $4, $5)`,
    [functionId, version, codeHash, handler, now],
  );
}

function notify(tx: Sql, change: FunctionChange): Promise<void> {
  return tx.notify(notifyChannels.functions, JSON.stringify(change));
}

const SELECT_FUNCTION = `
  SELECT f.*, v.code_sha256,
         (SELECT coalesce(json_agg(json_build_array(a.name, a.version, a.canary_version, a.canary_weight)), '[]')
            FROM function_aliases a WHERE a.function_id = f.id) AS aliases
    FROM functions f
    JOIN function_versions v ON v.function_id = f.id AND v.version = f.latest_version`;

interface AliasRow {
  function_name: string;
  name: string;
  version: number;
  canary_version: number | null;
  canary_weight: number;
  description: string;
  created_at: Date;
  updated_at: Date;
}

function toAliasRecord(row: AliasRow): AliasRecord {
  return {
    functionName: row.function_name,
    name: row.name,
    version: row.version,
    canaryVersion: row.canary_version ?? 0,
    canaryWeight: row.canary_weight,
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

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
  concurrency: number;
  sandbox_id: number;
  latest_version: number;
  code_sha256: string;
  /** [name, version, canary_version, canary_weight] per alias. */
  aliases: [string, number, number | null, number][];
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
    concurrency: row.concurrency,
    sandboxId: row.sandbox_id,
    version: row.latest_version,
    codeHash: row.code_sha256,
    aliases: Object.fromEntries(
      row.aliases.map(([name, version, canaryVersion, canaryWeight]) => [
        name,
        { version, canaryVersion: canaryVersion ?? 0, canaryWeight },
      ]),
    ),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
