import type { DataSource, QueryRunner } from 'typeorm';
import type { NotifyChannel } from './notify-channels.js';

/** What one statement returned: its rows, and how many rows it inserted, changed, deleted or returned. */
export interface SqlResult<Row> {
  rows: Row[];
  rowCount: number;
}

/**
 * How repositories speak to Postgres (docs/adr/0006-raw-sql-with-typed-rows.md):
 * plain SQL with numbered parameters, rows typed by the repository that reads
 * them. One instance runs on the pool; inside transaction() another runs on
 * the transaction's connection. TypeORM stays underneath for the pool,
 * transactions and migrations, and nothing outside libs/storage sees it.
 */
export class Sql {
  constructor(
    private readonly dataSource: DataSource,
    /** Set inside a transaction: every statement runs on its connection. */
    private readonly runner?: QueryRunner,
  ) {}

  /** Runs one statement. */
  async run<Row = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<SqlResult<Row>> {
    const runner = this.runner ?? this.dataSource.createQueryRunner();
    try {
      // The structured result is the one shape TypeORM gives for every command (INSERT included).
      const result = (await runner.query(text, [...params], true)) as { records?: Row[]; affected?: number };
      const rows = result.records ?? [];
      return { rows, rowCount: result.affected ?? rows.length };
    } finally {
      if (!this.runner) await runner.release();
    }
  }

  /** The rows of one statement. */
  async rows<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.run<Row>(text, params)).rows;
  }

  /** The first row of one statement, if any. */
  async one<Row>(text: string, params: readonly unknown[] = []): Promise<Row | undefined> {
    return (await this.run<Row>(text, params)).rows[0];
  }

  /** Notifies listeners of `channel`; inside a transaction, only once it commits. */
  async notify(channel: NotifyChannel, payload: string): Promise<void> {
    await this.run('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    if (this.runner) return work(this);
    return this.dataSource.transaction((manager) => work(new Sql(this.dataSource, manager.queryRunner)));
  }
}

/** Postgres text cannot hold NUL; it becomes U+FFFD. */
export function storableText(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

/** A count(*) or other bigint, which node-postgres returns as a string. */
export function countOf(row: { total: string | number } | undefined): number {
  return Number(row?.total ?? 0);
}

/** A unique constraint refused the row (SQLSTATE 23505), however TypeORM wrapped it. */
export function isUniqueViolation(error: unknown): boolean {
  const { code, driverError } = error as { code?: string; driverError?: { code?: string } };
  return code === '23505' || driverError?.code === '23505';
}
