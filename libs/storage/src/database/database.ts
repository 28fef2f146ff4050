import { DataSource } from 'typeorm';
import { migrations } from '../migrations/index.js';
import { EmbeddedPostgres } from '../embedded/embedded-postgres.js';
import { runMigrations } from './migrate.js';
import { NotificationListener } from './notification-listener.js';
import { Sql } from './sql.js';
import { withTimeout } from './with-timeout.js';

export interface DatabaseOptions {
  /** When unset, an embedded PostgreSQL is started under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  log: (message: string) => void;
  /** Where losing the database is reported; log when unset. */
  warn?: (message: string) => void;
  /** Pool size of the DataSource. */
  poolSize?: number;
  /** Hot statements as named prepared statements (Sql); default true. */
  preparedStatements?: boolean;
}

/** A pooled connection gives up after this long, so calls fail instead of hanging on a cut network. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * Nova's connection to Postgres, the embedded server when it runs one, and
 * the listener connection that also tells whether the database is reachable.
 */
export class Database {
  readonly listener: NotificationListener;
  /** Statements on the pool; what repositories are built on. */
  readonly sql: Sql;

  private constructor(
    private readonly dataSource: DataSource,
    readonly url: string,
    private readonly embedded: EmbeddedPostgres | undefined,
    log: (message: string) => void,
    warn: (message: string) => void,
    preparedStatements: boolean,
  ) {
    this.listener = new NotificationListener(url, log, warn);
    this.sql = new Sql(dataSource, undefined, preparedStatements);
  }

  static async open(options: DatabaseOptions): Promise<Database> {
    const embedded = options.databaseUrl
      ? undefined
      : await EmbeddedPostgres.start({ dataDir: options.dataDir, log: options.log, warn: options.warn });
    const url = options.databaseUrl ?? embedded!.url;
    const dataSource = new DataSource({
      type: 'postgres',
      url,
      migrations,
      synchronize: false,
      migrationsRun: false,
      logging: false,
      poolSize: options.poolSize ?? 10,
      connectTimeoutMS: CONNECT_TIMEOUT_MS,
      extra: { application_name: 'nova' },
    });
    try {
      await dataSource.initialize();
    } catch (error) {
      await embedded?.stop();
      throw error;
    }
    return new Database(
      dataSource,
      url,
      embedded,
      options.log,
      options.warn ?? options.log,
      options.preparedStatements ?? true,
    );
  }

  /** Runs pending migrations (one process at a time); returns the names of those it ran. */
  migrate(): Promise<string[]> {
    return runMigrations(this.dataSource);
  }

  /** Whether migrations are waiting to be run. */
  hasPendingMigrations(): Promise<boolean> {
    return this.dataSource.showMigrations();
  }

  /** One round trip on the pool, given up after timeoutMs. */
  async ping(timeoutMs: number): Promise<void> {
    await withTimeout(this.sql.run('SELECT 1'), timeoutMs);
  }

  get isEmbedded(): boolean {
    return this.embedded !== undefined;
  }

  async close(): Promise<void> {
    await this.listener.close();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.embedded?.stop();
  }
}
