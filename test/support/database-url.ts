import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestDatabase } from './nova-process.js';

/** The URL of the database a test server uses, for tests that look at Postgres directly. */
export async function databaseUrlOf(database: TestDatabase): Promise<string> {
  if (database.env['DATABASE_URL']) return database.env['DATABASE_URL'];
  const credentials = JSON.parse(await readFile(join(database.dataDir, 'postgres-credentials.json'), 'utf8')) as {
    user: string;
    password: string;
  };
  const pid = await readFile(join(database.dataDir, 'postgres', 'postmaster.pid'), 'utf8');
  const port = pid.split('\n')[3];
  return `postgres://${credentials.user}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/nova`;
}
