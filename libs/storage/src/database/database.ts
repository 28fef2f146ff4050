import { DataSource } from 'typeorm';
import { entities } from '../entities/index.js';
import { migrations } from '../migrations/index.js';
import { EmbeddedPostgres } from './embedded-postgres.js';
import { NotificationListener } from './notification-listener.js';

export interface DatabaseOptions {
  /** When unset, an embedded PostgreSQL is started under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  log: (message: string) => void;
  /** Where losing the database is reported; log when unset. */
  warn?: (message: string) => void;
  /** Pool size of the DataSource. */
  poolSize?: number;
}

/** A pooled connection gives up after this long, so calls fail instead of hanging on a cut network. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * Nova's connection to Postgres, the embedded server when it runs one, and
 * the listener connection that also tells whether the database is reachable.
 */
export class Database {
  readonly listener: NotificationListener;

  private constructor(
    readonly dataSource: DataSource,
    readonly url: string,
    private readonly embedded: EmbeddedPostgres | undefined,
    log: (message: string) => void,
    warn: (message: string) => void,
  ) {
    this.listener = new NotificationListener(url, log, warn);
  }

  static async open(options: DatabaseOptions): Promise<Database> {
    const embedded = options.databaseUrl
      ? undefined
      : await EmbeddedPostgres.start({ dataDir: options.dataDir, log: options.log, warn: options.warn });
    const url = options.databaseUrl ?? embedded!.url;
    const dataSource = new DataSource({
      type: 'postgres',
      url,
      entities,
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
    return new Database(dataSource, url, embedded, options.log, options.warn ?? options.log);
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
