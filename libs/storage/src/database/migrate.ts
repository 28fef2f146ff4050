import type { DataSource } from 'typeorm';

// An arbitrary constant shared by every Nova process: the key of the
// advisory lock that serialises migrations.
const MIGRATION_LOCK_KEY = 7_460_151_000;

/**
 * Runs pending migrations while holding a session advisory lock, so that
 * processes starting together take turns: the first migrates, the others
 * wait, then find nothing left to do. Returns the names of those it ran.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const ran = await dataSource.runMigrations({ transaction: 'each' });
      return ran.map((migration) => migration.name);
    } finally {
      await lockRunner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lockRunner.release();
  }
}
