import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUrlDatabase } from '../../../../test/support/nova-process.js';
import { Database } from './database.js';
import { prepared } from './sql.js';

const nextNumber = prepared('sql_spec_next', 'SELECT $1::int + 1 AS n');

/** The prepared statements of the pool's one connection. */
async function preparedNames(database: Database): Promise<string[]> {
  const rows = await database.sql.rows<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name');
  return rows.map((row) => row.name);
}

// Prepared statements on a pool of one connection, so that what one statement
// prepared is what the next one sees; on, and off.
describe('Sql prepared statements (integration)', () => {
  let testDatabase: { url: string; dispose(): Promise<void> };
  const opened: Database[] = [];
  const open = async (preparedStatements: boolean): Promise<Database> => {
    const database = await Database.open({
      databaseUrl: testDatabase.url,
      dataDir: '/nonexistent',
      log: () => undefined,
      poolSize: 1,
      preparedStatements,
    });
    opened.push(database);
    return database;
  };

  before(async () => {
    testDatabase = await createUrlDatabase();
  });
  after(async () => {
    for (const database of opened.reverse()) await database.close();
    await testDatabase.dispose();
  });

  it('prepares a declared statement once per connection and reuses it', async () => {
    const database = await open(true);
    assert.deepEqual(await preparedNames(database), []);
    assert.deepEqual(await database.sql.one(nextNumber, [1]), { n: 2 });
    assert.deepEqual(await database.sql.one(nextNumber, [41]), { n: 42 });
    assert.deepEqual(await preparedNames(database), ['nova_sql_spec_next']);
  });

  it('sends it as plain text when prepared statements are off', async () => {
    const database = await open(false);
    assert.deepEqual(await database.sql.one(nextNumber, [1]), { n: 2 });
    assert.deepEqual(await preparedNames(database), []);
  });

  it('runs it as plain text inside a transaction, where TypeORM holds the connection', async () => {
    const database = await open(true);
    const inside = await database.sql.transaction((tx) => tx.one<{ n: number }>(nextNumber, [9]));
    assert.deepEqual(inside, { n: 10 });
  });

  it('refuses a name declared twice', () => {
    assert.throws(() => prepared('sql_spec_next', 'SELECT 1'), /declared twice/);
  });
});
