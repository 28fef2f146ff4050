import { storableText, type Sql } from '../database/sql.js';
import { notifyChannels } from '../database/notify-channels.js';
import { notifyingFinished } from './finished-notify.js';
import { DEAD_NODE_IDS } from '../nodes/nodes.repository.js';
import type { AttemptResult, ClaimedInvocation, InvocationStatus, NewAsyncInvocation } from './invocation-record.js';

const IDEMPOTENCY_WINDOW = "interval '24 hours'";

/**
 * The durable queue of asynchronous invocations, on Postgres alone: rows are
 * claimed with FOR UPDATE SKIP LOCKED under a lease as long as the
 * function's timeout plus a margin, so a process that dies mid-attempt
 * loses its claim when the lease runs out, and results are written back only
 * by the lease that ran them.
 */
export class AsyncQueueRepository {
  constructor(
    private readonly sql: Sql,
    /** Added to the function's timeout for the lease. */
    private readonly leaseMarginS = 5,
  ) {}

  /**
   * Stores the invocation and wakes the workers, in one transaction. With an
   * idempotency key seen for this function in the last 24 h, stores nothing
   * and returns the first invocation.
   */
  async enqueue(invocation: NewAsyncInvocation): Promise<{ id: string; status: InvocationStatus; duplicate: boolean }> {
    if (!invocation.idempotencyKey) {
      // One statement is atomic on its own: one round trip instead of four.
      await this.sql.run(
        `WITH stored AS (${INSERT_QUEUED} RETURNING function_name) SELECT pg_notify($11, function_name) FROM stored`,
        [...insertParams(invocation), notifyChannels.asyncInvocations],
      );
      return { id: invocation.id, status: 'queued', duplicate: false };
    }
    return this.sql.transaction(async (tx) => {
      if (invocation.idempotencyKey) {
        const claimed = await tx.rows<{ invocation_id: string }>(
          `INSERT INTO idempotency_keys (function_name, key, invocation_id, created_at)
           VALUES ($1, $2, $3, now())
           ON CONFLICT (function_name, key) DO UPDATE
             SET invocation_id = EXCLUDED.invocation_id, created_at = EXCLUDED.created_at
             WHERE idempotency_keys.created_at < now() - ${IDEMPOTENCY_WINDOW}
           RETURNING invocation_id`,
          [invocation.functionName, invocation.idempotencyKey, invocation.id],
        );
        if (claimed.length === 0) {
          const first = await tx.one<{ id: string; status: InvocationStatus }>(
            `SELECT i.id, i.status FROM idempotency_keys k JOIN invocations i ON i.id = k.invocation_id
              WHERE k.function_name = $1 AND k.key = $2`,
            [invocation.functionName, invocation.idempotencyKey],
          );
          if (first) return { ...first, duplicate: true };
        }
      }
      await tx.run(INSERT_QUEUED, insertParams(invocation));
      await tx.notify(notifyChannels.asyncInvocations, invocation.functionName);
      return { id: invocation.id, status: 'queued', duplicate: false };
    });
  }

  /**
   * Leases up to `limit` runnable invocations to `owner`: queued ones, those
   * whose retry time has come, and those whose lease ran out (their runner
   * died; that attempt is noted in their history).
   */
  async claim(owner: string, limit: number): Promise<ClaimedInvocation[]> {
    const claimed = await this.sql.rows<ClaimRow>(
      `UPDATE invocations i
          SET status = 'running',
              attempts = i.attempts + 1,
              progress = NULL,
              lease_owner = $1,
              lease_until = now() + make_interval(secs => ${LEASE_SECONDS}),
              next_run_at = now() + make_interval(secs => ${LEASE_SECONDS}),
              attempt_history = CASE WHEN i.status = 'running'
                THEN i.attempt_history || ${LEASE_EXPIRED_ATTEMPT}
                ELSE i.attempt_history END,
              updated_at = now()
         FROM (SELECT id FROM invocations
                WHERE is_async AND status IN ('queued', 'failed', 'running') AND next_run_at <= now()
                  AND NOT (status = 'running' AND attempts >= max_attempts)
                ORDER BY next_run_at
                LIMIT $2
                FOR UPDATE SKIP LOCKED) picked
        WHERE i.id = picked.id
       RETURNING i.id, i.function_name, i.pinned_version, i.payload, i.attempts, i.max_attempts, i.backoff_base_ms,
                 i.backoff_max_ms, i.traceparent`,
      [owner, limit, this.leaseMarginS],
    );
    return claimed.map((row) => ({
      id: row.id,
      functionName: row.function_name,
      ...(row.pinned_version === null ? {} : { pinnedVersion: row.pinned_version }),
      payload: row.payload ?? Buffer.alloc(0),
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
      backoffBaseMs: row.backoff_base_ms,
      backoffMaxMs: row.backoff_max_ms,
      ...(row.traceparent ? { traceparent: row.traceparent } : {}),
    }));
  }

  /**
   * Makes the attempts leased by dead nodes (no heartbeat for three of their
   * intervals) claimable now instead of when their lease runs out. The lease
   * owner starts with the node id.
   */
  async releaseLeasesOfDeadNodes(): Promise<number> {
    const rows = await this.sql.rows(
      `UPDATE invocations SET next_run_at = now()
        WHERE is_async AND status = 'running' AND next_run_at > now()
          AND split_part(lease_owner, '/', 1) IN (${DEAD_NODE_IDS})
       RETURNING id`,
    );
    return rows.length;
  }

  /** Records what a running attempt's handler said of its progress, if `owner` still holds its lease. */
  async setProgress(owner: string, id: string, progress: string): Promise<void> {
    await this.sql.run(
      "UPDATE invocations SET progress = $3 WHERE id = $1 AND lease_owner = $2 AND status = 'running'",
      [id, owner, progress],
    );
  }

  /** The queue as it stands: waiting (queued, or failed and due for a retry) and running, across the cluster. */
  async depth(): Promise<{ queued: number; retrying: number; running: number }> {
    const row = await this.sql.one<{ queued: number; retrying: number; running: number }>(
      `SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued,
              count(*) FILTER (WHERE status = 'failed')::int AS retrying,
              count(*) FILTER (WHERE status = 'running')::int AS running
         FROM invocations WHERE is_async AND status IN ('queued', 'failed', 'running')`,
    );
    return row ?? { queued: 0, retrying: 0, running: 0 };
  }

  /** Invocations whose runner died on their last allowed attempt go to dead letter. */
  async deadLetterExpired(): Promise<number> {
    const row = await this.sql.one<{ done: number }>(
      notifyingFinished(
        `UPDATE invocations
            SET status = 'dead_letter', success = false, lease_owner = NULL, lease_until = NULL, next_run_at = NULL,
                updated_at = now(),
                error = 'LeaseExpired: the data-plane process running the last attempt stopped',
                attempt_history = attempt_history || ${LEASE_EXPIRED_ATTEMPT}
          WHERE is_async AND status = 'running' AND next_run_at < now() AND attempts >= max_attempts`,
        'id',
        '$1',
      ),
      [notifyChannels.invocationsFinished],
    );
    return row?.done ?? 0;
  }

  /** Writes attempts back, each only if `owner` still holds its lease. Returns how many were written. */
  async complete(owner: string, results: readonly AttemptResult[]): Promise<number> {
    if (results.length === 0) return 0;
    const row = await this.sql.one<{ done: number }>(
      notifyingFinished(
        `UPDATE invocations i
          SET status = u.status,
              success = u.status = 'succeeded',
              function_version = u.version,
              output = u.output,
              error = u.error,
              log = u.log,
              duration_ms = u.duration_ms,
              cold_start = u.cold_start,
              next_run_at = u.next_run_at,
              lease_owner = NULL,
              lease_until = NULL,
              payload = CASE WHEN u.status IN ('succeeded', 'dead_letter') THEN NULL ELSE i.payload END,
              attempt_history = i.attempt_history || jsonb_build_object(
                'attempt', u.attempt, 'startedAt', u.started_at, 'durationMs', u.duration_ms, 'error', u.error),
              updated_at = now()
         FROM unnest($2::text[], $3::int[], $4::varchar[], $5::int[], $6::bytea[], $7::text[], $8::text[],
                     $9::int[], $10::bool[], $11::text[], $12::timestamptz[])
           AS u(id, attempt, status, version, output, error, log, duration_ms, cold_start, started_at, next_run_at)
        WHERE i.id = u.id AND i.lease_owner = $1 AND i.attempts = u.attempt`,
        'i.id',
        '$13',
      ),
      [
        owner,
        results.map((r) => r.id),
        results.map((r) => r.attempt),
        results.map((r) => r.status),
        results.map((r) => r.version),
        results.map((r) => r.output),
        results.map((r) => storableText(r.error)),
        results.map((r) => storableText(r.log)),
        results.map((r) => Math.round(r.durationMs)),
        results.map((r) => r.coldStart),
        results.map((r) => r.startedAt.toISOString()),
        results.map((r) => r.nextRunAt ?? null),
        notifyChannels.invocationsFinished,
      ],
    );
    return row?.done ?? 0;
  }
}

/** The lease of a claim: the function's timeout plus the margin ($3). */
const LEASE_SECONDS = 'coalesce((SELECT timeout_s FROM functions WHERE name = i.function_name), 900) + $3';

/** The history entry of an attempt whose runner died (its lease ran out). */
const LEASE_EXPIRED_ATTEMPT = `jsonb_build_object(
  'attempt', attempts, 'startedAt', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'durationMs', 0, 'error', 'LeaseExpired: the data-plane process running this attempt stopped')`;

const INSERT_QUEUED = `INSERT INTO invocations
    (id, function_name, function_version, duration_ms, success, cold_start, error, log, created_at,
     status, is_async, attempts, max_attempts, backoff_base_ms, backoff_max_ms, payload, next_run_at, updated_at,
     kind, correlation_id, pinned_version, traceparent)
  VALUES ($1, $2, $3, 0, false, false, '', '', now(), 'queued', true, 0, $4, $5, $6, $7, now(), now(), 'async', $8, $9, $10)`;

function insertParams(invocation: NewAsyncInvocation): unknown[] {
  return [
    invocation.id,
    invocation.functionName,
    invocation.version,
    invocation.maxAttempts,
    invocation.backoffBaseMs,
    invocation.backoffMaxMs,
    invocation.payload,
    invocation.correlationId,
    invocation.pinnedVersion ?? null,
    invocation.traceparent ?? null,
  ];
}

interface ClaimRow {
  id: string;
  function_name: string;
  pinned_version: number | null;
  payload: Buffer | null;
  attempts: number;
  max_attempts: number;
  backoff_base_ms: number;
  backoff_max_ms: number;
  traceparent: string | null;
}
