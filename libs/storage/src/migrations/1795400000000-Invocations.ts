import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Invocations1795400000000 implements MigrationInterface {
  name = 'Invocations1795400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE invocations (
        id text PRIMARY KEY,
        function_name varchar(63) NOT NULL,
        function_version integer NOT NULL,
        duration_ms integer NOT NULL,
        success boolean NOT NULL,
        cold_start boolean NOT NULL,
        error text NOT NULL DEFAULT '',
        log text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX invocations_created_at ON invocations (created_at DESC)`);
    await queryRunner.query(
      `CREATE INDEX invocations_function_created_at ON invocations (function_name, created_at DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE invocations`);
  }
}
