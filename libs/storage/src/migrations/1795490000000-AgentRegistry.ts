import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The agent platform (issue 11): agents, tools and workers with their full
 * info and the backends that serve them ("function:NAME" or "host:port"),
 * and the tasks ProcessTask ran durably (task_id → its async invocation).
 */
export class AgentRegistry1795490000000 implements MigrationInterface {
  name = 'AgentRegistry1795490000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE agent_registry (
        kind text NOT NULL CHECK (kind IN ('agent', 'tool', 'worker')),
        id text NOT NULL,
        info jsonb NOT NULL,
        backends text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, id)
      )`);
    await queryRunner.query(`
      CREATE TABLE agent_tasks (
        task_id text PRIMARY KEY,
        worker_id text NOT NULL,
        invocation_id text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE agent_tasks');
    await queryRunner.query('DROP TABLE agent_registry');
  }
}
