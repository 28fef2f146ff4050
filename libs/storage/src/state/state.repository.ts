import { notifyChannels } from '../database/notify-channels.js';
import type { Sql } from '../database/sql.js';
import type {
  CommitConflict,
  JsonObject,
  StagedOperation,
  StateEntryRecord,
  StateEvent,
  StateKey,
  StateValue,
  TransactionProblem,
} from './state-record.js';

/** What nova_state carries: the commit_ts and the agents it touched (null when too many to list under NOTIFY's limit). */
export interface CommitNotice {
  ts: number;
  agents: [string, string][] | null;
}

function commitNotice(ts: number, applied: { namespace: string; agent_id: string }[]): string {
  const agents = [...new Set(applied.map((op) => JSON.stringify([op.namespace, op.agent_id])))].map(
    (agent) => JSON.parse(agent) as [string, string],
  );
  const notice = JSON.stringify({ ts, agents } satisfies CommitNotice);
  return notice.length < 7000 ? notice : JSON.stringify({ ts, agents: null } satisfies CommitNotice);
}

/** Finished transactions are remembered this long, so a late call learns "already committed" rather than "unknown". */
const FINISHED_KEPT = "interval '1 hour'";

interface VersionRow {
  value: JsonObject | null;
  version: string;
  commit_ts: string;
}

function toStateValue(row: VersionRow | undefined): StateValue {
  if (!row) return { value: undefined, version: 0, commitTs: 0, exists: false };
  return {
    value: row.value ?? undefined,
    version: Number(row.version),
    commitTs: Number(row.commit_ts),
    exists: row.value !== null,
  };
}

/**
 * statehouse.v1's store (docs/adr/0007-state-on-postgres.md). Transactions
 * and their staged operations live in the database, so any process can
 * serve any call of one; Commit applies them in one PostgreSQL transaction
 * that takes the next commit_ts from state_clock under its row lock.
 */
export class StateRepository {
  constructor(
    private readonly sql: Sql,
    readonly maxOperations = 1000,
  ) {}

  async begin(txnId: string, timeoutMs: number): Promise<void> {
    await this.sql.run(
      `INSERT INTO state_txns (txn_id, status, expires_at)
       VALUES ($1, 'open', now() + make_interval(secs => $2::double precision / 1000))`,
      [txnId, timeoutMs],
    );
  }

  /** Stages one operation; a problem when the transaction cannot take it. */
  async stage(txnId: string, operation: StagedOperation): Promise<TransactionProblem | undefined> {
    const staged = await this.sql.rows<{ seq: number }>(
      `WITH txn AS (
         SELECT txn_id FROM state_txns
          WHERE txn_id = $1 AND status = 'open' AND expires_at > now()
            AND (SELECT count(*) FROM state_staged WHERE txn_id = $1) < $7
          FOR SHARE)
       INSERT INTO state_staged (txn_id, namespace, agent_id, key, value, expected_version)
       SELECT txn_id, $2, $3, $4, $5::jsonb, $6 FROM txn
       RETURNING seq`,
      [
        txnId,
        operation.namespace,
        operation.agentId,
        operation.key,
        operation.value === undefined ? null : JSON.stringify(operation.value),
        operation.expectedVersion ?? null,
        this.maxOperations,
      ],
    );
    if (staged.length > 0) return undefined;
    return (await this.problemOf(txnId)) ?? 'too_many_operations';
  }

  /** Why a transaction is not open, or undefined when it is; with lock, its row is held to the end of `sql`'s transaction. */
  private async problemOf(txnId: string, sql: Sql = this.sql, lock = false): Promise<TransactionProblem | undefined> {
    const row = await sql.one<{ status: string; expired: boolean }>(
      `SELECT status, expires_at <= now() AS expired FROM state_txns WHERE txn_id = $1${lock ? ' FOR UPDATE' : ''}`,
      [txnId],
    );
    if (!row) return 'unknown';
    if (row.status === 'committed') return 'committed';
    if (row.status === 'aborted') return 'aborted';
    if (row.expired) return 'expired';
    return undefined;
  }

  /**
   * Applies the staged operations atomically: each write or delete makes the
   * key's next version; one event per agent goes to the log; listeners of
   * nova_state hear the commit_ts. A broken expected_version aborts the
   * transaction and applies nothing.
   */
  async commit(txnId: string): Promise<{ commitTs: number } | TransactionProblem | CommitConflict> {
    return this.sql.transaction(async (tx) => {
      const problem = await this.problemOf(txnId, tx, true);
      if (problem) return problem;

      const staged = await tx.rows<{
        namespace: string;
        agent_id: string;
        key: string;
        value: JsonObject | null;
        expected_version: string | null;
      }>('SELECT namespace, agent_id, key, value, expected_version FROM state_staged WHERE txn_id = $1 ORDER BY seq', [
        txnId,
      ]);
      const keyOf = (k: { namespace: string; agent_id: string; key: string }): string =>
        JSON.stringify([k.namespace, k.agent_id, k.key]);
      const distinct = [...new Map(staged.map((op) => [keyOf(op), op])).values()];
      // From here to COMMIT this transaction holds the clock, so commits are
      // applied one at a time: versions read now cannot change under it (a
      // key not yet written has no row to lock), and commit_ts follows commit
      // order. A conflict below leaves a gap in commit_ts, nothing else.
      const clock = await tx.one<{ ts: string }>('UPDATE state_clock SET ts = ts + 1 RETURNING ts');
      const commitTs = Number(clock!.ts);
      const current = await tx.rows<{
        namespace: string;
        agent_id: string;
        key: string;
        version: string;
        live: boolean;
      }>(
        `SELECT l.namespace, l.agent_id, l.key, l.version, l.value IS NOT NULL AS live
           FROM state_latest l
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(namespace, agent_id, key)
             ON l.namespace = k.namespace AND l.agent_id = k.agent_id AND l.key = k.key`,
        [distinct.map((op) => op.namespace), distinct.map((op) => op.agent_id), distinct.map((op) => op.key)],
      );
      const versions = new Map(current.map((row) => [keyOf(row), { version: Number(row.version), live: row.live }]));

      for (const op of staged) {
        if (op.expected_version === null) continue;
        const expected = Number(op.expected_version);
        const now = versions.get(keyOf(op)) ?? { version: 0, live: false };
        const holds = expected === now.version || (expected === 0 && !now.live);
        if (!holds) {
          await tx.run("UPDATE state_txns SET status = 'aborted', finished_at = now() WHERE txn_id = $1", [txnId]);
          await tx.run('DELETE FROM state_staged WHERE txn_id = $1', [txnId]);
          return {
            conflict: { namespace: op.namespace, agentId: op.agent_id, key: op.key, expected, actual: now.version },
          };
        }
      }

      const applied = staged.map((op) => {
        const key = keyOf(op);
        const version = (versions.get(key)?.version ?? 0) + 1;
        versions.set(key, { version, live: op.value !== null });
        return { ...op, version };
      });
      if (applied.length > 0) {
        await tx.run(
          `INSERT INTO state_versions (namespace, agent_id, key, version, value, commit_ts)
           SELECT u.namespace, u.agent_id, u.key, u.version, u.value, $6
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::jsonb[])
               AS u(namespace, agent_id, key, version, value)`,
          [
            applied.map((op) => op.namespace),
            applied.map((op) => op.agent_id),
            applied.map((op) => op.key),
            applied.map((op) => op.version),
            applied.map((op) => (op.value === null ? null : JSON.stringify(op.value))),
            commitTs,
          ],
        );
        const last = [...new Map(applied.map((op) => [keyOf(op), op])).values()];
        await tx.run(
          `INSERT INTO state_latest (namespace, agent_id, key, version, value, commit_ts)
           SELECT u.namespace, u.agent_id, u.key, u.version, u.value, $6
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::jsonb[])
               AS u(namespace, agent_id, key, version, value)
           ON CONFLICT (namespace, agent_id, key) DO UPDATE
             SET version = EXCLUDED.version, value = EXCLUDED.value, commit_ts = EXCLUDED.commit_ts`,
          [
            last.map((op) => op.namespace),
            last.map((op) => op.agent_id),
            last.map((op) => op.key),
            last.map((op) => op.version),
            last.map((op) => (op.value === null ? null : JSON.stringify(op.value))),
            commitTs,
          ],
        );
        const byAgent = new Map<string, typeof applied>();
        for (const op of applied) {
          const agent = JSON.stringify([op.namespace, op.agent_id]);
          byAgent.set(agent, [...(byAgent.get(agent) ?? []), op]);
        }
        const events = [...byAgent.values()];
        await tx.run(
          `INSERT INTO state_events (namespace, agent_id, commit_ts, txn_id, operations)
           SELECT u.namespace, u.agent_id, $4, $5, u.operations
             FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS u(namespace, agent_id, operations)`,
          [
            events.map((ops) => ops[0]!.namespace),
            events.map((ops) => ops[0]!.agent_id),
            events.map((ops) =>
              JSON.stringify(ops.map((op) => ({ key: op.key, value: op.value, version: op.version }))),
            ),
            commitTs,
            txnId,
          ],
        );
      }
      await tx.run(
        "UPDATE state_txns SET status = 'committed', commit_ts = $2, finished_at = now() WHERE txn_id = $1",
        [txnId, commitTs],
      );
      await tx.run('DELETE FROM state_staged WHERE txn_id = $1', [txnId]);
      await tx.notify(notifyChannels.stateCommits, commitNotice(commitTs, applied));
      return { commitTs };
    });
  }

  /** Discards a transaction; aborting an aborted or expired one again is fine. */
  async abort(txnId: string): Promise<TransactionProblem | undefined> {
    return this.sql.transaction(async (tx) => {
      const updated = await tx.rows<{ txn_id: string }>(
        `UPDATE state_txns SET status = 'aborted', finished_at = now()
          WHERE txn_id = $1 AND status IN ('open', 'aborted') RETURNING txn_id`,
        [txnId],
      );
      if (updated.length === 0) return (await this.problemOf(txnId, tx)) ?? 'unknown';
      await tx.run('DELETE FROM state_staged WHERE txn_id = $1', [txnId]);
      return undefined;
    });
  }

  /** Open transactions past their deadline lose their staged operations; finished ones are forgotten after an hour. */
  async sweep(): Promise<number> {
    const { rowCount } = await this.sql.run(
      `DELETE FROM state_txns
        WHERE (status = 'open' AND expires_at < now() - ${FINISHED_KEPT})
           OR (status <> 'open' AND finished_at < now() - ${FINISHED_KEPT})`,
    );
    await this.sql.run(
      `DELETE FROM state_staged s USING state_txns t
        WHERE s.txn_id = t.txn_id AND t.status = 'open' AND t.expires_at <= now()`,
    );
    return rowCount;
  }

  async get(key: StateKey): Promise<StateValue> {
    const row = await this.sql.one<VersionRow>(
      'SELECT value, version, commit_ts FROM state_latest WHERE namespace = $1 AND agent_id = $2 AND key = $3',
      [key.namespace, key.agentId, key.key],
    );
    return toStateValue(row);
  }

  /** The key as of one version; undefined when it never had that version. */
  async getAtVersion(key: StateKey, version: number): Promise<StateValue | undefined> {
    const row = await this.sql.one<VersionRow>(
      `SELECT value, version, commit_ts FROM state_versions
        WHERE namespace = $1 AND agent_id = $2 AND key = $3 AND version = $4`,
      [key.namespace, key.agentId, key.key, version],
    );
    return row && toStateValue(row);
  }

  /** Every version of a key, oldest first. */
  async history(key: StateKey): Promise<StateValue[]> {
    const rows = await this.sql.rows<VersionRow>(
      `SELECT value, version, commit_ts FROM state_versions
        WHERE namespace = $1 AND agent_id = $2 AND key = $3 ORDER BY version`,
      [key.namespace, key.agentId, key.key],
    );
    return rows.map(toStateValue);
  }

  async listKeys(namespace: string, agentId: string): Promise<string[]> {
    const rows = await this.sql.rows<{ key: string }>(
      `SELECT key FROM state_latest WHERE namespace = $1 AND agent_id = $2 AND value IS NOT NULL
        ORDER BY key`,
      [namespace, agentId],
    );
    return rows.map((row) => row.key);
  }

  async scanPrefix(namespace: string, agentId: string, prefix: string): Promise<StateEntryRecord[]> {
    const rows = await this.sql.rows<VersionRow & { key: string }>(
      `SELECT key, value, version, commit_ts FROM state_latest
        WHERE namespace = $1 AND agent_id = $2 AND value IS NOT NULL AND starts_with(key, $3)
        ORDER BY key`,
      [namespace, agentId, prefix],
    );
    return rows.map((row) => ({
      key: row.key,
      value: row.value!,
      version: Number(row.version),
      commitTs: Number(row.commit_ts),
    }));
  }

  /** Up to `limit` of an agent's events after afterTs, up to endTs when given, oldest first. */
  async events(
    namespace: string,
    agentId: string,
    afterTs: number,
    endTs: number | undefined,
    limit: number,
  ): Promise<StateEvent[]> {
    const rows = await this.sql.rows<{
      txn_id: string;
      commit_ts: string;
      operations: { key: string; value: JsonObject | null; version: number }[];
    }>(
      `SELECT txn_id, commit_ts, operations FROM state_events
        WHERE namespace = $1 AND agent_id = $2 AND commit_ts > $3 AND ($4::bigint IS NULL OR commit_ts <= $4)
        ORDER BY commit_ts LIMIT $5`,
      [namespace, agentId, afterTs, endTs ?? null, limit],
    );
    return rows.map((row) => ({
      txnId: row.txn_id,
      commitTs: Number(row.commit_ts),
      operations: row.operations.map((op) => ({ key: op.key, value: op.value ?? undefined, version: op.version })),
    }));
  }
}
