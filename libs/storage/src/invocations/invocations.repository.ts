import { countOf, storableText, type Sql } from '../database/sql.js';
import { notifyChannels } from '../database/notify-channels.js';
import { notifyingFinished } from './finished-notify.js';
import type {
  AttemptRecord,
  InvocationDetail,
  InvocationKind,
  InvocationMetrics,
  InvocationRecord,
  InvocationStatus,
} from './invocation-record.js';

/** Invocation history: written in batches, read newest first. */
export class InvocationsRepository {
  constructor(private readonly sql: Sql) {}

  /**
   * Inserts many records in one statement. Ids are Nova's own and unique; a
   * record whose id exists already (written twice after a failed batch that
   * had committed) is skipped. Returns how many were new.
   */
  async insertBatch(records: readonly InvocationRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    const row = await this.sql.one<{ done: number }>(
      notifyingFinished(
        `INSERT INTO invocations
         (id, function_name, function_version, duration_ms, success, cold_start, error, log, created_at,
          kind, correlation_id, status)
       SELECT u.*, CASE WHEN u.success THEN 'succeeded' ELSE 'failed' END
         FROM unnest($1::text[], $2::varchar[], $3::int[], $4::int[], $5::bool[], $6::bool[],
                     $7::text[], $8::text[], $9::timestamptz[], $10::varchar[], $11::varchar[])
           AS u(id, function_name, function_version, duration_ms, success, cold_start, error, log, created_at,
                kind, correlation_id)
       ON CONFLICT (id) DO NOTHING`,
        'id',
        '$12',
      ),
      [
        records.map((r) => r.id),
        records.map((r) => r.functionName),
        records.map((r) => r.version),
        records.map((r) => Math.round(r.durationMs)),
        records.map((r) => r.success),
        records.map((r) => r.coldStart),
        records.map((r) => storableText(r.error)),
        records.map((r) => storableText(r.log)),
        records.map((r) => r.createdAt),
        records.map((r) => r.kind),
        records.map((r) => r.correlationId),
        notifyChannels.invocationsFinished,
      ],
    );
    return row?.done ?? 0;
  }

  /** Newest first; total counts every match. Filters are optional. */
  async list(
    filter: { functionName?: string; status?: InvocationStatus },
    limit: number,
    offset: number,
  ): Promise<{ invocations: InvocationDetail[]; total: number }> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.functionName) {
      params.push(filter.functionName);
      conditions.push(`function_name = $${params.length}`);
    }
    if (filter.status) {
      params.push(filter.status);
      conditions.push(`status = $${params.length}`);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const [rows, count] = await Promise.all([
      this.sql.rows<InvocationRow>(
        `SELECT ${LIST_COLUMNS}, '' AS log, NULL AS output, '[]'::jsonb AS attempt_history
           FROM invocations ${where}
          ORDER BY created_at DESC, id DESC
          LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, limit, offset],
      ),
      this.sql.one<{ total: string }>(`SELECT count(*) AS total FROM invocations ${where}`, params),
    ]);
    return { invocations: rows.map(toInvocationDetail), total: countOf(count) };
  }

  async find(id: string): Promise<InvocationDetail | undefined> {
    const row = await this.sql.one<InvocationRow>(
      `SELECT ${LIST_COLUMNS}, log, output, attempt_history FROM invocations WHERE id = $1`,
      [id],
    );
    return row && toInvocationDetail(row);
  }

  /** Several invocations by id, in the order given (ids not found are left out). */
  async findMany(ids: readonly string[]): Promise<InvocationDetail[]> {
    if (ids.length === 0) return [];
    const rows = await this.sql.rows<InvocationRow>(
      `SELECT ${LIST_COLUMNS}, log, output, attempt_history
         FROM invocations WHERE id = ANY($1::text[]) ORDER BY array_position($1::text[], id::text)`,
      [ids],
    );
    return rows.map(toInvocationDetail);
  }

  /** Totals and duration percentiles over the last rangeSeconds; every function when name is undefined. */
  async metrics(functionName: string | undefined, rangeSeconds: number): Promise<InvocationMetrics> {
    const row = await this.sql.one<MetricsRow>(
      `SELECT count(*) AS total,
              count(*) FILTER (WHERE success) AS successful,
              coalesce(avg(duration_ms), 0) AS avg,
              coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), 0) AS p50,
              coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms), 0) AS p95,
              coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms), 0) AS p99
         FROM invocations
        WHERE created_at > now() - make_interval(secs => $1)
          AND status IN ('succeeded', 'failed', 'dead_letter')
          AND NOT (is_async AND status = 'failed')
          AND ($2::varchar IS NULL OR function_name = $2)`,
      [rangeSeconds, functionName ?? null],
    );
    const total = countOf(row);
    const successful = Number(row?.successful ?? 0);
    return {
      total,
      successful,
      failed: total - successful,
      avgDurationMs: Number(row?.avg ?? 0),
      p50DurationMs: Number(row?.p50 ?? 0),
      p95DurationMs: Number(row?.p95 ?? 0),
      p99DurationMs: Number(row?.p99 ?? 0),
    };
  }
}

const LIST_COLUMNS = `id, function_name, function_version, duration_ms, success, cold_start, error, created_at,
  status, is_async, attempts, max_attempts, next_run_at, kind, correlation_id, progress`;

interface InvocationRow {
  kind: InvocationKind;
  correlation_id: string;
  status: InvocationStatus;
  is_async: boolean;
  attempts: number;
  max_attempts: number;
  next_run_at: Date | null;
  output: Buffer | null;
  attempt_history: AttemptRecord[];
  progress: string | null;
  id: string;
  function_name: string;
  function_version: number;
  duration_ms: number;
  success: boolean;
  cold_start: boolean;
  error: string;
  log: string;
  created_at: Date;
}

interface MetricsRow {
  total: string;
  successful: string;
  avg: string;
  p50: string;
  p95: string;
  p99: string;
}

function toInvocationDetail(row: InvocationRow): InvocationDetail {
  return {
    id: row.id,
    correlationId: row.correlation_id,
    kind: row.kind,
    functionName: row.function_name,
    version: row.function_version,
    durationMs: row.duration_ms,
    success: row.success,
    coldStart: row.cold_start,
    error: row.error,
    log: row.log,
    createdAt: row.created_at,
    status: row.status,
    isAsync: row.is_async,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    output: row.output ?? Buffer.alloc(0),
    attemptHistory: row.attempt_history,
    nextRunAt: row.next_run_at ?? undefined,
    progress: row.progress ?? '',
  };
}
