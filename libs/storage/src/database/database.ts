import { DataSource } from 'typeorm';
import { entities } from '../entities/index.js';
import { migrations } from '../migrations/index.js';
import { EmbeddedPostgres } from './embedded-postgres.js';

export interface DatabaseOptions {
  /** When unset, an embedded PostgreSQL is started under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  log: (message: string) => void;
  /** Pool size of the DataSource. */
  poolSize?: number;
}

/** Nova's connection to Postgres, and the embedded server when it runs one. */
export class Database {
  private constructor(
    readonly dataSource: DataSource,
    readonly url: string,
    private readonly embedded: EmbeddedPostgres | undefined,
  ) {}

  static async open(options: DatabaseOptions): Promise<Database> {
    const embedded = options.databaseUrl
      ? undefined
      : await EmbeddedPostgres.start({ dataDir: options.dataDir, log: options.log });
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
      extra: { application_name: 'nova' },
    });
    try {
      await dataSource.initialize();
    } catch (error) {
      await embedded?.stop();
      throw error;
    }
    return new Database(dataSource, url, embedded);
  }

  get isEmbedded(): boolean {
    return this.embedded !== undefined;
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.embedded?.stop();
  }
}
