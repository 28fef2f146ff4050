import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * kind: how an invocation was called (sync, stream, async). correlation_id:
 * the x-request-id of the call that made it; the id itself is now always
 * Nova's own, so a client that reuses an x-request-id no longer loses
 * history (earlier rows keep their id as their correlation id).
 */
export class InvocationKinds1795430000000 implements MigrationInterface {
  name = 'InvocationKinds1795430000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE invocations
        ADD COLUMN kind varchar(8) NOT NULL DEFAULT 'sync',
        ADD COLUMN correlation_id varchar(128) NOT NULL DEFAULT ''`);
    await queryRunner.query(`UPDATE invocations SET kind = 'async' WHERE is_async`);
    await queryRunner.query(`UPDATE invocations SET correlation_id = left(id, 128) WHERE NOT is_async`);
    await queryRunner.query(`CREATE INDEX invocations_correlation_id ON invocations (correlation_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX invocations_correlation_id');
    await queryRunner.query('ALTER TABLE invocations DROP COLUMN kind, DROP COLUMN correlation_id');
  }
}
