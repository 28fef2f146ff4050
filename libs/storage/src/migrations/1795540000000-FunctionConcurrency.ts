import type { MigrationInterface, QueryRunner } from 'typeorm';

/** concurrency: calls one instance of the function serves at once (1 to 100; above 1 only for node). */
export class FunctionConcurrency1795540000000 implements MigrationInterface {
  name = 'FunctionConcurrency1795540000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE functions
        ADD COLUMN concurrency integer NOT NULL DEFAULT 1 CHECK (concurrency BETWEEN 1 AND 100)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE functions DROP COLUMN concurrency');
  }
}
