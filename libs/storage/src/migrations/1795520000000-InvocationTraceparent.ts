import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The W3C trace context of the InvokeAsync call that queued an invocation,
 * so that each of its attempts, whichever node runs it and whenever,
 * continues the caller's trace.
 */
export class InvocationTraceparent1795520000000 implements MigrationInterface {
  name = 'InvocationTraceparent1795520000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE invocations ADD COLUMN traceparent text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE invocations DROP COLUMN traceparent');
  }
}
