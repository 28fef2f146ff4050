import { EmbeddedPostgres } from '#storage';
import type { TestDatabase } from './nova-process.js';

/** The URL of the database a test server uses, for tests that look at Postgres directly. */
export async function databaseUrlOf(database: TestDatabase): Promise<string> {
  if (database.env['DATABASE_URL']) return database.env['DATABASE_URL'];
  const url = await EmbeddedPostgres.runningUrl(database.dataDir);
  if (!url) throw new Error(`no embedded PostgreSQL runs on ${database.dataDir}`);
  return url;
}
