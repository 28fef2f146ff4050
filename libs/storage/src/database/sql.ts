import type { DataSource, QueryRunner } from 'typeorm';
import type { NotifyChannel } from './notify-channels.js';

/** What one statement returned: its rows, and how many rows it inserted, changed, deleted or returned. */
export interface SqlResult<Row> {
  rows: Row[];
  rowCount: number;
}

/** The node-postgres pool that TypeORM's postgres driver holds (its `master`). */
interface DriverPool {
  query(config: {
    name?: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows?: unknown[]; rowCount: number | null }>;
}

/**
 * A statement of the hot paths, sent as a named prepared statement: each
 * pooled connection has PostgreSQL parse and plan it once, then only binds
 * and executes it (GetState: about a third of PostgreSQL's CPU per read).
 * Its text is a constant, so a connection holds one per name.
 */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

const preparedNames = new Set<string>();

/** Declares a prepared statement; names are unique across the process. */
export function prepared(name: string, text: string): PreparedStatement {
  if (preparedNames.has(name)) throw new Error(`prepared statement ${name} is declared twice`);
  preparedNames.add(name);
  return { name: `nova_${name}`, text };
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
    /**
     * Off, PreparedStatements go as plain text, for a proxy that hands a
     * client's statements to server connections that never prepared them.
     */
    private readonly preparedStatements = true,
  ) {}

  /** Runs one statement. */
  async run<Row = Record<string, unknown>>(
    statement: string | PreparedStatement,
    params: readonly unknown[] = [],
  ): Promise<SqlResult<Row>> {
    const text = typeof statement === 'string' ? statement : statement.text;
    if (!this.runner) {
      // Outside a transaction, straight to the driver's pool: a QueryRunner made
      // and released per statement (with its logger and subscriber broadcasts)
      // cost about 10 µs of CPU on top of node-postgres's ~110 µs here.
      const pool = (this.dataSource.driver as unknown as { master: DriverPool }).master;
      const name = typeof statement !== 'string' && this.preparedStatements ? statement.name : undefined;
      const result = await pool.query({ ...(name ? { name } : {}), text, values: [...params] });
      const rows = (result.rows ?? []) as Row[];
      return { rows, rowCount: result.rowCount ?? rows.length };
    }
    // The structured result is the one shape TypeORM gives for every command (INSERT included).
    const result = (await this.runner.query(text, [...params], true)) as { records?: Row[]; affected?: number };
    const rows = result.records ?? [];
    return { rows, rowCount: result.affected ?? rows.length };
  }

  /** The rows of one statement. */
  async rows<Row>(statement: string | PreparedStatement, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.run<Row>(statement, params)).rows;
  }

  /** The first row of one statement, if any. */
  async one<Row>(statement: string | PreparedStatement, params: readonly unknown[] = []): Promise<Row | undefined> {
    return (await this.run<Row>(statement, params)).rows[0];
  }

  /** Notifies listeners of `channel`; inside a transaction, only once it commits. */
  async notify(channel: NotifyChannel, payload: string): Promise<void> {
    await this.run('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /**
   * Begins a transaction that stays open across calls until it is committed
   * or rolled back, on a connection of its own meanwhile. Whoever holds it
   * must end it: an open one keeps its connection and its locks.
   */
  async hold(): Promise<HeldTransaction> {
    if (this.runner) throw new Error('a held transaction cannot be opened inside another transaction');
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
    } catch (error) {
      await runner.release();
      throw error;
    }
    let ended = false;
    const end = async (how: 'commit' | 'rollback'): Promise<void> => {
      if (ended) return;
      ended = true;
      try {
        if (how === 'commit') await runner.commitTransaction();
        else await runner.rollbackTransaction();
      } finally {
        await runner.release();
      }
    };
    return {
      sql: new Sql(this.dataSource, runner, this.preparedStatements),
      commit: () => end('commit'),
      rollback: () => end('rollback'),
    };
  }

  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
    if (this.runner) return work(this);
    return this.dataSource.transaction((manager) =>
      work(new Sql(this.dataSource, manager.queryRunner, this.preparedStatements)),
    );
  }
}

/** A transaction kept open across calls (Sql.hold). Ending it twice is harmless. */
export interface HeldTransaction {
  sql: Sql;
  commit(): Promise<void>;
  rollback(): Promise<void>;
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

/** A lock was not granted: lock_timeout ran out (55P03) or PostgreSQL broke a deadlock (40P01). */
export function lockFailureOf(error: unknown): 'lock_timeout' | 'deadlock' | undefined {
  const { code, driverError } = error as { code?: string; driverError?: { code?: string } };
  const sqlState = driverError?.code ?? code;
  if (sqlState === '55P03') return 'lock_timeout';
  if (sqlState === '40P01') return 'deadlock';
  return undefined;
}
