import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1795392000000 implements MigrationInterface {
  name = 'InitialSchema1795392000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE functions (
        id uuid PRIMARY KEY,
        name varchar(63) NOT NULL UNIQUE,
        runtime varchar(32) NOT NULL,
        handler varchar(255) NOT NULL,
        mode varchar(16) NOT NULL,
        memory_mb integer NOT NULL,
        timeout_s integer NOT NULL,
        min_replicas integer NOT NULL,
        max_replicas integer NOT NULL,
        env_vars jsonb NOT NULL DEFAULT '{}'::jsonb,
        latest_version integer NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CHECK (min_replicas <= max_replicas)
      )`);
    await queryRunner.query(`
      CREATE TABLE code_blobs (
        sha256 char(64) PRIMARY KEY,
        code bytea NOT NULL,
        size_bytes integer NOT NULL,
        created_at timestamptz NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE function_versions (
        function_id uuid NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
        version integer NOT NULL,
        code_sha256 char(64) NOT NULL REFERENCES code_blobs(sha256),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (function_id, version)
      )`);
    await queryRunner.query(`CREATE INDEX function_versions_code_sha256 ON function_versions (code_sha256)`);
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        prefix varchar(32) NOT NULL,
        key_sha256 char(64) NOT NULL UNIQUE,
        scope varchar(16) NOT NULL,
        description text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL,
        revoked_at timestamptz
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_keys`);
    await queryRunner.query(`DROP TABLE function_versions`);
    await queryRunner.query(`DROP TABLE code_blobs`);
    await queryRunner.query(`DROP TABLE functions`);
  }
}
