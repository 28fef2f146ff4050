import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What an async invocation's handler last said of its progress
 * (context.progress), for TaskWorker.GetTaskStatus and GetInvocation.
 */
export class InvocationProgress1795500000000 implements MigrationInterface {
  name = 'InvocationProgress1795500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE invocations ADD COLUMN progress text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE invocations DROP COLUMN progress');
  }
}
