import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Asynchronous invocations live in the invocations table beside synchronous
 * ones, so one history lists both; the queue is its rows that are queued,
 * waiting to retry, or running under a lease.
 */
export class AsyncInvocations1795410000000 implements MigrationInterface {
  name = 'AsyncInvocations1795410000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE invocations
        ADD COLUMN status varchar(16) NOT NULL DEFAULT 'succeeded',
        ADD COLUMN is_async boolean NOT NULL DEFAULT false,
        ADD COLUMN attempts integer NOT NULL DEFAULT 1,
        ADD COLUMN max_attempts integer NOT NULL DEFAULT 1,
        ADD COLUMN backoff_base_ms integer NOT NULL DEFAULT 0,
        ADD COLUMN backoff_max_ms integer NOT NULL DEFAULT 0,
        ADD COLUMN payload bytea,
        ADD COLUMN output bytea,
        ADD COLUMN next_run_at timestamptz,
        ADD COLUMN lease_owner text,
        ADD COLUMN lease_until timestamptz,
        ADD COLUMN attempt_history jsonb NOT NULL DEFAULT '[]'::jsonb,
        ADD COLUMN updated_at timestamptz`);
    await queryRunner.query(`UPDATE invocations SET status = CASE WHEN success THEN 'succeeded' ELSE 'failed' END`);
    // The queue: pending async rows only, keyed by when each is due (a
    // running row is due again when its lease runs out), so a claim is one
    // short index range scan however large the history grows.
    await queryRunner.query(
      `CREATE INDEX invocations_due ON invocations (next_run_at)
        WHERE is_async AND status IN ('queued', 'failed', 'running')`,
    );
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        function_name varchar(63) NOT NULL,
        key text NOT NULL,
        invocation_id text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (function_name, key)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE idempotency_keys`);
    await queryRunner.query(`DROP INDEX invocations_due`);
    await queryRunner.query(`
      ALTER TABLE invocations
        DROP COLUMN status, DROP COLUMN is_async, DROP COLUMN attempts, DROP COLUMN max_attempts,
        DROP COLUMN backoff_base_ms, DROP COLUMN backoff_max_ms, DROP COLUMN payload, DROP COLUMN output,
        DROP COLUMN next_run_at, DROP COLUMN lease_owner, DROP COLUMN lease_until,
        DROP COLUMN attempt_history, DROP COLUMN updated_at`);
  }
}
