import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * statehouse.v1 on PostgreSQL (docs/adr/0007-state-on-postgres.md):
 * open transactions and their staged operations in UNLOGGED tables (any
 * process serves any call of a transaction; uncommitted work need not
 * survive a crash), every version of every key, the latest version per key,
 * and the event log Replay reads. state_clock hands out commit_ts under its
 * row lock, held to the end of the committing transaction, so commit_ts
 * follows commit order exactly. Keys sort bytewise (COLLATE "C"): key order
 * is the same on every server, and prefix scans use the primary key.
 */
export class State1795450000000 implements MigrationInterface {
  name = 'State1795450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE state_clock (
        id boolean PRIMARY KEY DEFAULT true CHECK (id),
        ts bigint NOT NULL
      )`);
    await queryRunner.query('INSERT INTO state_clock (id, ts) VALUES (true, 0)');
    await queryRunner.query(`
      CREATE UNLOGGED TABLE state_txns (
        txn_id uuid PRIMARY KEY,
        status varchar(10) NOT NULL,
        expires_at timestamptz NOT NULL,
        commit_ts bigint,
        finished_at timestamptz
      )`);
    await queryRunner.query('CREATE INDEX state_txns_expires_at ON state_txns (expires_at)');
    await queryRunner.query(`
      CREATE UNLOGGED TABLE state_staged (
        txn_id uuid NOT NULL REFERENCES state_txns(txn_id) ON DELETE CASCADE,
        seq serial,
        namespace text NOT NULL,
        agent_id text NOT NULL,
        key text COLLATE "C" NOT NULL,
        value jsonb,
        expected_version bigint,
        PRIMARY KEY (txn_id, seq)
      )`);
    await queryRunner.query(`
      CREATE TABLE state_versions (
        namespace text NOT NULL,
        agent_id text NOT NULL,
        key text COLLATE "C" NOT NULL,
        version bigint NOT NULL,
        value jsonb,
        commit_ts bigint NOT NULL,
        PRIMARY KEY (namespace, agent_id, key, version)
      )`);
    await queryRunner.query(`
      CREATE TABLE state_latest (
        namespace text NOT NULL,
        agent_id text NOT NULL,
        key text COLLATE "C" NOT NULL,
        version bigint NOT NULL,
        value jsonb,
        commit_ts bigint NOT NULL,
        PRIMARY KEY (namespace, agent_id, key)
      )`);
    await queryRunner.query(`
      CREATE TABLE state_events (
        namespace text NOT NULL,
        agent_id text NOT NULL,
        commit_ts bigint NOT NULL,
        txn_id uuid NOT NULL,
        operations jsonb NOT NULL,
        PRIMARY KEY (namespace, agent_id, commit_ts)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'state_events',
      'state_latest',
      'state_versions',
      'state_staged',
      'state_txns',
      'state_clock',
    ]) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
