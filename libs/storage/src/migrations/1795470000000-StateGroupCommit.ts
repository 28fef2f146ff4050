import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Group commit (docs/adr/0007-state-on-postgres.md): the Commits a process
 * has queued while its last batch was committing are applied in one
 * PostgreSQL transaction, in queue order, under one hold of state_clock and
 * one WAL flush. Each still gets its own commit_ts (consecutive), its own
 * checks and its own answer: a conflict or an expired transaction in the
 * batch answers that caller and leaves the others to commit.
 */
export class StateGroupCommit1795470000000 implements MigrationInterface {
  name = 'StateGroupCommit1795470000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION nova_state_commit_many(p_txns uuid[]) RETURNS TABLE (
        batch_position integer, problem text, applied_ts bigint, conflict_namespace text, conflict_agent text,
        conflict_key text, conflict_expected bigint, conflict_actual bigint
      ) LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        FOR i IN 1 .. coalesce(array_length(p_txns, 1), 0) LOOP
          RETURN QUERY SELECT i, c.* FROM nova_state_commit(p_txns[i]) c;
        END LOOP;
      END
      $fn$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP FUNCTION nova_state_commit_many(uuid[])');
  }
}
