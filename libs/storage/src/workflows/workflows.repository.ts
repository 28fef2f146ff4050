import { countOf, storableText, type Sql } from '../database/sql.js';
import { notifyChannels } from '../database/notify-channels.js';
import { applyOperations, type OpenStateTransaction } from '../state/state.repository.js';
import { DEAD_NODE_IDS } from '../nodes/nodes.repository.js';
import type {
  CheckpointOutcome,
  ClaimedWorkflow,
  NewWorkflow,
  StepCheckpoint,
  WorkflowEventKind,
  WorkflowEventRecord,
  WorkflowFilter,
  WorkflowRecord,
  WorkflowStatus,
  WorkflowStepRecord,
} from './workflow-record.js';

interface WorkflowRow {
  id: string;
  function_name: string;
  function_version: number;
  input: string;
  status: WorkflowStatus;
  result: string | null;
  error: string;
  attempt: number;
  max_attempts: number;
  backoff_base_ms: number;
  backoff_max_ms: number;
  owner_node: string | null;
  next_run_at: Date | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const COLUMNS = `id, function_name, function_version, input, status, result, error, attempt, max_attempts,
  backoff_base_ms, backoff_max_ms, owner_node, next_run_at, created_at, updated_at, finished_at`;

function toWorkflowRecord(row: WorkflowRow): WorkflowRecord {
  return {
    id: row.id,
    functionName: row.function_name,
    functionVersion: row.function_version,
    input: row.input,
    status: row.status,
    result: row.result ?? undefined,
    error: row.error,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    backoffBaseMs: row.backoff_base_ms,
    backoffMaxMs: row.backoff_max_ms,
    ownerNode: row.owner_node ?? undefined,
    nextRunAt: row.next_run_at ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at ?? undefined,
  };
}

interface StepRow {
  seq: number;
  kind: 'step' | 'sleep';
  name: string;
  result: string | null;
  attempt: number;
  node_id: string;
  started_at: Date;
  finished_at: Date | null;
  wake_at: Date | null;
}

function toStepRecord(row: StepRow): WorkflowStepRecord {
  return {
    seq: row.seq,
    kind: row.kind,
    name: row.name,
    result: row.result ?? undefined,
    attempt: row.attempt,
    nodeId: row.node_id,
    startedAt: row.started_at,
    finishedAt: row.finished_at ?? undefined,
    wakeAt: row.wake_at ?? undefined,
  };
}

interface EventRow {
  id: string;
  workflow_id: string;
  at: Date;
  kind: WorkflowEventKind;
  data: Record<string, string | number | null>;
}

function toEventRecord(row: EventRow): WorkflowEventRecord {
  return { id: Number(row.id), workflowId: row.workflow_id, at: row.at, kind: row.kind, data: row.data };
}

/** The lease of a claim or a renewal, from a parameter in milliseconds. */
const leaseUntil = (param: string): string => `now() + make_interval(secs => ${param}::double precision / 1000)`;

/** Rolls a transaction back from inside `Sql.transaction` while still answering. */
class RolledBack<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back');
  }
}

/**
 * Durable workflows in PostgreSQL (migration 1795510000000): one row per
 * workflow leased to one process at a time, its checkpoints, its events.
 * Every write that a running workflow makes is fenced by its lease: it
 * locks the workflow's row and checks that the writer still owns it, in the
 * transaction of the write, so a process that lost its lease (it stalled
 * past it, or the workflow was cancelled) writes nothing.
 */
export class WorkflowsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Stores a new workflow and wakes the workers; the same id again is the
   * same workflow: nothing is stored and the first one is answered.
   */
  async start(workflow: NewWorkflow): Promise<{ record: WorkflowRecord; created: boolean }> {
    const created = await this.sql.one<WorkflowRow>(
      `WITH stored AS (
         INSERT INTO workflows (id, function_name, function_version, input, status, max_attempts, backoff_base_ms,
                                backoff_max_ms, correlation_id, next_run_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, now())
         ON CONFLICT (id) DO NOTHING
         RETURNING ${COLUMNS}),
       event AS (
         INSERT INTO workflow_events (workflow_id, kind, data)
         SELECT id, 'workflow_start', jsonb_build_object('function', function_name, 'version', function_version)
           FROM stored),
       woken AS (SELECT pg_notify($9, json_build_object('op', 'started', 'id', id)::text) FROM stored)
       SELECT stored.* FROM stored LEFT JOIN woken ON true`,
      [
        workflow.id,
        workflow.functionName,
        workflow.functionVersion,
        workflow.input,
        workflow.maxAttempts,
        workflow.backoffBaseMs,
        workflow.backoffMaxMs,
        workflow.correlationId,
        notifyChannels.workflows,
      ],
    );
    if (created) return { record: toWorkflowRecord(created), created: true };
    const existing = await this.get(workflow.id);
    // Deleted between the two statements: vanishingly rare, and a retry of start is the answer.
    if (!existing) throw new Error(`workflow ${workflow.id} vanished while it was being started`);
    return { record: existing, created: false };
  }

  async get(id: string): Promise<WorkflowRecord | undefined> {
    const row = await this.sql.one<WorkflowRow>(`SELECT ${COLUMNS} FROM workflows WHERE id = $1`, [id]);
    return row && toWorkflowRecord(row);
  }

  /** Newest first, with the total the filter matches. */
  async list(filter: WorkflowFilter): Promise<{ workflows: WorkflowRecord[]; total: number }> {
    const where = `($1::text IS NULL OR function_name = $1) AND ($2::text IS NULL OR status = $2)`;
    const params = [filter.functionName ?? null, filter.status ?? null];
    const [rows, total] = await Promise.all([
      this.sql.rows<WorkflowRow>(
        `SELECT ${COLUMNS} FROM workflows WHERE ${where} ORDER BY created_at DESC, id LIMIT $3 OFFSET $4`,
        [...params, filter.limit, filter.offset],
      ),
      this.sql.one<{ total: string }>(`SELECT count(*) AS total FROM workflows WHERE ${where}`, params),
    ]);
    return { workflows: rows.map(toWorkflowRecord), total: countOf(total) };
  }

  async steps(id: string): Promise<WorkflowStepRecord[]> {
    const rows = await this.sql.rows<StepRow>(
      `SELECT seq, kind, name, result, attempt, node_id, started_at, finished_at, wake_at
         FROM workflow_steps WHERE workflow_id = $1 ORDER BY seq`,
      [id],
    );
    return rows.map(toStepRecord);
  }

  /** The workflow's events after `afterId`, oldest first. */
  async events(id: string, afterId = 0, limit = 500): Promise<WorkflowEventRecord[]> {
    const rows = await this.sql.rows<EventRow>(
      `SELECT id, workflow_id, at, kind, data FROM workflow_events
        WHERE workflow_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [id, afterId, limit],
    );
    return rows.map(toEventRecord);
  }

  /**
   * Leases up to `limit` workflows to `owner` (a process of node `nodeId`):
   * pending ones that are due, this owner's sleeping ones whose timer came,
   * and any whose lease ran out (its owner died); a lease taken from
   * another owner is an owner_change event.
   */
  async claim(owner: string, nodeId: string, limit: number, leaseMs: number): Promise<ClaimedWorkflow[]> {
    const rows = await this.sql.rows<WorkflowRow & { previous_owner: string | null }>(
      `WITH picked AS (
         SELECT id, lease_owner AS previous_owner FROM workflows
          WHERE status IN ('pending', 'running', 'sleeping') AND next_run_at IS NOT NULL
            AND ((status = 'pending' AND next_run_at <= now())
              OR (status IN ('running', 'sleeping') AND lease_until < now())
              OR (status = 'sleeping' AND lease_owner = $1 AND next_run_at <= now()))
          ORDER BY next_run_at
          LIMIT $3
          FOR UPDATE SKIP LOCKED),
       up AS (
         UPDATE workflows w
            SET status = 'running', lease_owner = $1, owner_node = $2, lease_until = ${leaseUntil('$4')},
                updated_at = now()
           FROM picked WHERE w.id = picked.id
         RETURNING w.*, picked.previous_owner),
       moved AS (
         INSERT INTO workflow_events (workflow_id, kind, data)
         SELECT id, 'owner_change', jsonb_build_object(
                  'from', split_part(previous_owner, '/', 1), 'to', $2::text,
                  'reason', CASE WHEN split_part(previous_owner, '/', 1) IN (${DEAD_NODE_IDS})
                                 THEN 'owner_dead' ELSE 'lease_expired' END)
           FROM up WHERE previous_owner IS NOT NULL AND previous_owner <> $1)
       SELECT ${COLUMNS}, previous_owner FROM up`,
      [owner, nodeId, limit, leaseMs],
    );
    return rows.map((row) => ({
      ...toWorkflowRecord(row),
      previousOwner: row.previous_owner === null || row.previous_owner === owner ? undefined : row.previous_owner,
    }));
  }

  /** Extends the leases `owner` holds; answers how many. */
  async renew(owner: string, leaseMs: number): Promise<number> {
    const { rowCount } = await this.sql.run(
      `UPDATE workflows SET lease_until = ${leaseUntil('$2')}
        WHERE lease_owner = $1 AND status IN ('running', 'sleeping')`,
      [owner, leaseMs],
    );
    return rowCount;
  }

  /** Leases held by processes of dead nodes run out now instead of at their end; answers how many. */
  async expireLeasesOfDeadNodes(): Promise<number> {
    const { rowCount } = await this.sql.run(
      `UPDATE workflows SET lease_until = now()
        WHERE status IN ('running', 'sleeping') AND lease_until > now()
          AND split_part(lease_owner, '/', 1) IN (${DEAD_NODE_IDS})`,
    );
    return rowCount;
  }

  /**
   * Writes a step's checkpoint, with the state operations the step made, in
   * one transaction: `held` when the step's code locked keys in one, else a
   * new one. Nothing is written when the lease is lost or a state read no
   * longer holds (a conflict).
   */
  async checkpoint(owner: string, step: StepCheckpoint, held?: OpenStateTransaction): Promise<CheckpointOutcome> {
    const work = async (sql: Sql): Promise<{ commit: boolean; value: CheckpointOutcome }> => {
      if (!(await this.fence(sql, owner, step.workflowId))) {
        return { commit: false, value: { written: false, reason: 'lease_lost' } };
      }
      if (step.operations.length > 0) {
        const applied = await applyOperations(sql, step.txnId, step.operations);
        if ('conflict' in applied) return { commit: false, value: applied };
      }
      const inserted = await sql.rows(
        `WITH step AS (
           INSERT INTO workflow_steps (workflow_id, seq, kind, name, result, attempt, node_id, started_at, finished_at)
           VALUES ($1, $2, 'step', $3, $4, $5, $6, $7, now())
           ON CONFLICT DO NOTHING
           RETURNING workflow_id, seq, name, attempt, node_id, started_at, finished_at)
         INSERT INTO workflow_events (workflow_id, kind, data)
         SELECT workflow_id, 'checkpoint', jsonb_build_object('step', name, 'seq', seq, 'attempt', attempt,
                  'node', node_id, 'durationMs', round(extract(epoch FROM finished_at - started_at) * 1000))
           FROM step RETURNING id`,
        [step.workflowId, step.seq, step.name, step.result, step.attempt, step.nodeId, step.startedAt],
      );
      if (inserted.length === 0) return { commit: false, value: { written: false, reason: 'lease_lost' } };
      return { commit: true, value: { written: true } };
    };
    if (held) return held.finishWith(work);
    return this.inTransaction(work);
  }

  /** Records a durable sleep at `seq` that ends at wakeAt; false when the lease is lost. */
  async sleep(
    owner: string,
    sleep: { workflowId: string; seq: number; attempt: number; nodeId: string; wakeAt: Date },
  ): Promise<boolean> {
    return this.inTransaction(async (sql) => {
      if (!(await this.fence(sql, owner, sleep.workflowId))) return { commit: false, value: false };
      await sql.run(
        `WITH step AS (
           INSERT INTO workflow_steps (workflow_id, seq, kind, name, attempt, node_id, started_at, wake_at)
           VALUES ($1, $2, 'sleep', 'sleep', $3, $4, now(), $5)
           RETURNING workflow_id, seq, wake_at)
         INSERT INTO workflow_events (workflow_id, kind, data)
         SELECT workflow_id, 'sleep', jsonb_build_object('seq', seq, 'wakeAt', wake_at) FROM step`,
        [sleep.workflowId, sleep.seq, sleep.attempt, sleep.nodeId, sleep.wakeAt],
      );
      return { commit: true, value: true };
    });
  }

  /** Marks a due sleep as over (once: a wake event the first time a run passes it); false when the lease is lost. */
  async wake(owner: string, workflowId: string, seq: number, nodeId: string): Promise<boolean> {
    return this.inTransaction(async (sql) => {
      if (!(await this.fence(sql, owner, workflowId))) return { commit: false, value: false };
      await sql.run(
        `WITH woken AS (
           UPDATE workflow_steps SET finished_at = now()
            WHERE workflow_id = $1 AND seq = $2 AND kind = 'sleep' AND finished_at IS NULL
           RETURNING workflow_id, seq)
         INSERT INTO workflow_events (workflow_id, kind, data)
         SELECT workflow_id, 'wake', jsonb_build_object('seq', seq, 'node', $3::text) FROM woken`,
        [workflowId, seq, nodeId],
      );
      return { commit: true, value: true };
    });
  }

  /** Records a step that threw (an event only: a failed step leaves no checkpoint). */
  async stepFailed(
    workflowId: string,
    failure: { seq: number; name: string; attempt: number; nodeId: string; error: string },
  ): Promise<void> {
    await this.sql.run(
      `INSERT INTO workflow_events (workflow_id, kind, data)
       VALUES ($1, 'step_failed', jsonb_build_object('step', $2::text, 'seq', $3::int, 'attempt', $4::int,
               'node', $5::text, 'error', $6::text))`,
      [workflowId, failure.name, failure.seq, failure.attempt, failure.nodeId, storableText(failure.error)],
    );
  }

  /** The run left its instance to sleep until wakeAt: the owner keeps the lease and resumes it then. */
  async suspend(owner: string, id: string, wakeAt: Date): Promise<boolean> {
    const { rowCount } = await this.sql.run(
      `UPDATE workflows SET status = 'sleeping', next_run_at = $3, updated_at = now()
        WHERE id = $1 AND lease_owner = $2 AND status = 'running'`,
      [id, owner, wakeAt],
    );
    return rowCount > 0;
  }

  /** Ends a run's workflow: succeeded with its JSON result, or failed with its error. */
  async finish(
    owner: string,
    id: string,
    end: { status: 'succeeded'; result: string } | { status: 'failed'; error: string },
  ): Promise<boolean> {
    const result = end.status === 'succeeded' ? end.result : null;
    const error = end.status === 'failed' ? storableText(end.error) : '';
    const rows = await this.sql.rows(
      `WITH ended AS (
         UPDATE workflows
            SET status = $3, result = $4, error = $5, finished_at = now(), updated_at = now(),
                lease_owner = NULL, lease_until = NULL, next_run_at = NULL
          WHERE id = $1 AND lease_owner = $2 AND status = 'running'
         RETURNING id, attempt, owner_node)
       INSERT INTO workflow_events (workflow_id, kind, data)
       SELECT id, 'workflow_end', jsonb_build_object('status', $3::text, 'error', $5::text, 'result', $4::text,
                'attempt', attempt, 'node', owner_node)
         FROM ended RETURNING id`,
      [id, owner, end.status, result, error],
    );
    return rows.length > 0;
  }

  /** A run failed and attempts remain: any node may run it again from its checkpoints at nextRunAt. */
  async retry(owner: string, id: string, error: string, nextRunAt: Date): Promise<boolean> {
    const rows = await this.sql.rows(
      `WITH retried AS (
         UPDATE workflows
            SET status = 'pending', attempt = attempt + 1, error = $3, next_run_at = $4, updated_at = now(),
                lease_owner = NULL, lease_until = NULL
          WHERE id = $1 AND lease_owner = $2 AND status = 'running'
         RETURNING id, attempt, owner_node)
       INSERT INTO workflow_events (workflow_id, kind, data)
       SELECT id, 'attempt_failed', jsonb_build_object('attempt', attempt - 1, 'error', $3::text,
                'node', owner_node, 'retryAt', $4::timestamptz)
         FROM retried RETURNING id`,
      [id, owner, storableText(error), nextRunAt],
    );
    return rows.length > 0;
  }

  /**
   * Gives a workflow back unfinished (its process is stopping): it is
   * pending again, due now, for any node.
   */
  async release(owner: string, id: string): Promise<void> {
    await this.sql.run(
      `UPDATE workflows SET status = CASE WHEN status = 'sleeping' THEN 'sleeping' ELSE 'pending' END,
              next_run_at = CASE WHEN status = 'sleeping' THEN next_run_at ELSE now() END,
              lease_until = now(), updated_at = now()
        WHERE id = $1 AND lease_owner = $2 AND status IN ('running', 'sleeping')`,
      [id, owner],
    );
  }

  /**
   * Cancels a workflow that has not ended; its owner hears of it (NOTIFY)
   * and stops the run. Answers the workflow as it is now, undefined for an
   * unknown id.
   */
  async cancel(id: string): Promise<WorkflowRecord | undefined> {
    await this.sql.run(
      `WITH cancelled AS (
         UPDATE workflows
            SET status = 'cancelled', finished_at = now(), updated_at = now(), error = 'cancelled',
                lease_owner = NULL, lease_until = NULL, next_run_at = NULL
          WHERE id = $1 AND status IN ('pending', 'running', 'sleeping')
         RETURNING id, attempt, owner_node),
       event AS (
         INSERT INTO workflow_events (workflow_id, kind, data)
         SELECT id, 'workflow_end', jsonb_build_object('status', 'cancelled', 'attempt', attempt, 'node', owner_node)
           FROM cancelled)
       SELECT pg_notify($2, json_build_object('op', 'cancelled', 'id', id)::text) FROM cancelled`,
      [id, notifyChannels.workflows],
    );
    return this.get(id);
  }

  /** Locks the workflow's row for the rest of the transaction if `owner` still runs it. */
  private async fence(sql: Sql, owner: string, id: string): Promise<boolean> {
    const rows = await sql.rows(
      `SELECT id FROM workflows WHERE id = $1 AND lease_owner = $2 AND status = 'running' FOR UPDATE`,
      [id, owner],
    );
    return rows.length > 0;
  }

  private async inTransaction<T>(work: (sql: Sql) => Promise<{ commit: boolean; value: T }>): Promise<T> {
    try {
      return await this.sql.transaction(async (tx) => {
        const { commit, value } = await work(tx);
        if (!commit) throw new RolledBack(value);
        return value;
      });
    } catch (error) {
      if (error instanceof RolledBack) return error.value as T;
      throw error;
    }
  }
}
