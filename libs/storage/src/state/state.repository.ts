import { prepared, type HeldTransaction, type Sql } from '../database/sql.js';
import type {
  AppliedOperation,
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

/** Finished transactions are remembered this long, so a late call learns "already committed" rather than "unknown". */
const FINISHED_KEPT = "interval '1 hour'";

/** The statements of statehouse.v1's hot paths, prepared once per pooled connection. */
const BEGIN = prepared(
  'state_begin',
  `INSERT INTO state_txns (txn_id, status, expires_at)
   VALUES ($1, 'open', now() + make_interval(secs => $2::double precision / 1000))`,
);
const STAGE = prepared('state_stage', 'SELECT nova_state_stage($1, $2, $3, $4, $5::jsonb, $6, $7) AS problem');
const COMMIT_MANY = prepared('state_commit_many', 'SELECT * FROM nova_state_commit_many($1::uuid[])');
const APPLY = prepared('state_apply', 'SELECT * FROM nova_state_apply($1, $2, $3, $4, $5, $6::jsonb[], $7)');
const GET = prepared(
  'state_get',
  'SELECT value, version, commit_ts FROM state_latest WHERE namespace = $1 AND agent_id = $2 AND key = $3',
);
const GET_AT_VERSION = prepared(
  'state_get_at_version',
  `SELECT value, version, commit_ts FROM state_versions
    WHERE namespace = $1 AND agent_id = $2 AND key = $3 AND version = $4`,
);
const EVENTS = prepared(
  'state_events',
  `SELECT txn_id, commit_ts, operations FROM state_events
    WHERE namespace = $1 AND agent_id = $2 AND commit_ts > $3 AND ($4::bigint IS NULL OR commit_ts <= $4)
    ORDER BY commit_ts LIMIT $5`,
);

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

interface CommitRow {
  applied_ts: string | null;
  conflict_namespace: string | null;
  conflict_agent: string | null;
  conflict_key: string | null;
  conflict_expected: string | null;
  conflict_actual: string | null;
}

function toConflict(row: CommitRow): CommitConflict {
  return {
    conflict: {
      namespace: row.conflict_namespace!,
      agentId: row.conflict_agent!,
      key: row.conflict_key!,
      expected: Number(row.conflict_expected),
      actual: Number(row.conflict_actual),
    },
  };
}

/**
 * Applies function code's operations on `sql`, which may be a transaction
 * of the caller's (a workflow step commits them with its checkpoint).
 */
export async function applyOperations(
  sql: Sql,
  txnId: string,
  operations: readonly AppliedOperation[],
): Promise<{ commitTs: number } | CommitConflict> {
  const row = await sql.one<CommitRow>(APPLY, [
    txnId,
    operations.map((op) => op.kind),
    operations.map((op) => op.namespace),
    operations.map((op) => op.agentId),
    operations.map((op) => op.key),
    operations.map((op) => (op.kind === 'write' ? JSON.stringify(op.value) : null)),
    operations.map((op) => op.expectedVersion ?? null),
  ]);
  if (row!.applied_ts === null) return toConflict(row!);
  return { commitTs: Number(row!.applied_ts) };
}

type CommitOutcome = { commitTs: number } | TransactionProblem | CommitConflict;

function toCommitOutcome(row: CommitRow & { problem: string | null }): CommitOutcome {
  if (row.problem === 'conflict') return toConflict(row);
  if (row.problem) return row.problem as TransactionProblem;
  return { commitTs: Number(row.applied_ts) };
}

interface QueuedCommit {
  txnId: string;
  resolve(outcome: CommitOutcome): void;
  reject(error: unknown): void;
}

/** Most Commits applied in one PostgreSQL transaction. */
const MAX_GROUP = 64;

/**
 * Group commit. Every commit holds state_clock's row from taking its
 * commit_ts to its WAL flush, so one at a time, each waiting for its own
 * flush, is the most the store could do. Instead a process commits one
 * batch at a time: what queues while a batch commits goes in the next one,
 * applied in queue order by nova_state_commit_many in one transaction (one
 * hold of the clock, one flush), each with its own consecutive commit_ts and
 * its own answer. Alone, a commit goes at once; under load, batches grow
 * with the queue. Commit order stays commit_ts order: nothing in a batch is
 * visible before all of it is.
 */
class GroupCommit {
  private readonly queue: QueuedCommit[] = [];
  private committing = false;

  constructor(private readonly sql: Sql) {}

  commit(txnId: string): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ txnId, resolve, reject });
      if (!this.committing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.committing = true;
    try {
      while (this.queue.length > 0) await this.commitBatch(this.queue.splice(0, MAX_GROUP));
    } finally {
      this.committing = false;
    }
  }

  private async commitBatch(batch: QueuedCommit[]): Promise<void> {
    let rows: (CommitRow & { batch_position: number; problem: string | null })[];
    try {
      rows = await this.sql.rows(COMMIT_MANY, [batch.map((c) => c.txnId)]);
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      // The batch rolled back as a whole: each on its own, so a failure answers only its own caller.
      await Promise.all(batch.map((queued) => this.commitBatch([queued])));
      return;
    }
    for (const row of rows) batch[row.batch_position - 1]!.resolve(toCommitOutcome(row));
  }
}

/**
 * A transaction function code holds open (StateRepository.open). End it
 * with commit or rollback; either one releases its connection and locks.
 */
export class OpenStateTransaction {
  constructor(private readonly held: HeldTransaction) {}

  /** The key's value, its lock taken first and held to the end. */
  async lockedGet(key: StateKey): Promise<StateValue> {
    const row = await this.held.sql.one<{
      found_value: JsonObject | null;
      found_version: string;
      found_commit_ts: string;
    }>('SELECT * FROM nova_state_locked_get($1, $2, $3)', [key.namespace, key.agentId, key.key]);
    return toStateValue(row && { value: row.found_value, version: row.found_version, commit_ts: row.found_commit_ts });
  }

  /** Applies the operations and commits; on a conflict, rolls back and applies nothing. */
  async commit(txnId: string, operations: readonly AppliedOperation[]): Promise<{ commitTs: number } | CommitConflict> {
    try {
      const result = await applyOperations(this.held.sql, txnId, operations);
      if ('conflict' in result) {
        await this.held.rollback();
        return result;
      }
      await this.held.commit();
      return result;
    } catch (error) {
      await this.held.rollback().catch(() => undefined);
      throw error;
    }
  }

  rollback(): Promise<void> {
    return this.held.rollback();
  }

  /**
   * Runs `work` in this transaction, then commits it, or rolls it back when
   * work answers commit=false or throws: a workflow step's checkpoint and
   * its state effects end together.
   */
  async finishWith<T>(work: (sql: Sql) => Promise<{ commit: boolean; value: T }>): Promise<T> {
    try {
      const { commit, value } = await work(this.held.sql);
      if (commit) await this.held.commit();
      else await this.held.rollback();
      return value;
    } catch (error) {
      await this.held.rollback().catch(() => undefined);
      throw error;
    }
  }
}

/**
 * statehouse.v1's store (docs/adr/0007-state-on-postgres.md). Transactions
 * and their staged operations live in the database, so any process can
 * serve any call of one; Commit applies them in one PostgreSQL transaction
 * that takes the next commit_ts from state_clock under its row lock
 * (nova_state_apply, migration 1795460000000).
 */
export class StateRepository {
  private readonly commits: GroupCommit;

  constructor(
    private readonly sql: Sql,
    readonly maxOperations = 1000,
  ) {
    this.commits = new GroupCommit(sql);
  }

  async begin(txnId: string, timeoutMs: number): Promise<void> {
    await this.sql.run(BEGIN, [txnId, timeoutMs]);
  }

  /** Stages one operation; a problem when the transaction cannot take it (nova_state_stage, migration 1795530000000). */
  async stage(txnId: string, operation: StagedOperation): Promise<TransactionProblem | undefined> {
    const row = await this.sql.one<{ problem: TransactionProblem | null }>(STAGE, [
      txnId,
      operation.namespace,
      operation.agentId,
      operation.key,
      operation.value === undefined ? null : JSON.stringify(operation.value),
      operation.expectedVersion ?? null,
      this.maxOperations,
    ]);
    return row?.problem ?? undefined;
  }

  /** Why a transaction is not open, or undefined when it is (Commit asks the same in nova_state_commit). */
  private async problemOf(txnId: string, sql: Sql = this.sql): Promise<TransactionProblem | undefined> {
    const row = await sql.one<{ status: string; expired: boolean }>(
      'SELECT status, expires_at <= now() AS expired FROM state_txns WHERE txn_id = $1',
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
   * transaction and applies nothing. Commits asked for while another batch
   * is committing wait for it and then go together (GroupCommit).
   */
  commit(txnId: string): Promise<CommitOutcome> {
    return this.commits.commit(txnId);
  }

  /**
   * Opens a transaction for function code, held until it is committed or
   * rolled back: its reads lock their keys (function transactions on a key
   * take turns), and its commit checks them against writers from outside.
   * A lock not granted within lockTimeoutMs fails the read.
   */
  async open(lockTimeoutMs: number): Promise<OpenStateTransaction> {
    const held = await this.sql.hold();
    try {
      await held.sql.run(
        "SELECT set_config('lock_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)",
        [String(Math.max(1, Math.ceil(lockTimeoutMs))), String(Math.ceil(lockTimeoutMs) + 5_000)],
      );
    } catch (error) {
      await held.rollback().catch(() => undefined);
      throw error;
    }
    return new OpenStateTransaction(held);
  }

  /**
   * Applies operations decided elsewhere (function code's transactions):
   * checks are expected versions that apply nothing. One statement, so
   * atomic on its own.
   */
  apply(txnId: string, operations: readonly AppliedOperation[]): Promise<{ commitTs: number } | CommitConflict> {
    return applyOperations(this.sql, txnId, operations);
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
    const row = await this.sql.one<VersionRow>(GET, [key.namespace, key.agentId, key.key]);
    return toStateValue(row);
  }

  /** The key as of one version; undefined when it never had that version. */
  async getAtVersion(key: StateKey, version: number): Promise<StateValue | undefined> {
    const row = await this.sql.one<VersionRow>(GET_AT_VERSION, [key.namespace, key.agentId, key.key, version]);
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
    }>(EVENTS, [namespace, agentId, afterTs, endTs ?? null, limit]);
    return rows.map((row) => ({
      txnId: row.txn_id,
      commitTs: Number(row.commit_ts),
      operations: row.operations.map((op) => ({ key: op.key, value: op.value ?? undefined, version: op.version })),
    }));
  }
}
