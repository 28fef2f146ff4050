import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A version is its code and its handler (the handler names a module of that
 * code, so changing it makes a version, as Lambda's configuration does).
 * Aliases point at a version, with an optional canary share for a second.
 * An async call may be pinned to a version when it is queued.
 */
export class VersionsAndAliases1795440000000 implements MigrationInterface {
  name = 'VersionsAndAliases1795440000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE function_versions ADD COLUMN handler varchar(255)');
    await queryRunner.query(
      'UPDATE function_versions v SET handler = f.handler FROM functions f WHERE v.function_id = f.id',
    );
    await queryRunner.query('ALTER TABLE function_versions ALTER COLUMN handler SET NOT NULL');
    await queryRunner.query(`
      CREATE TABLE function_aliases (
        function_id uuid NOT NULL REFERENCES functions(id) ON DELETE CASCADE,
        name varchar(64) NOT NULL,
        version integer NOT NULL,
        canary_version integer,
        canary_weight integer NOT NULL DEFAULT 0,
        description text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (function_id, name),
        FOREIGN KEY (function_id, version) REFERENCES function_versions(function_id, version),
        FOREIGN KEY (function_id, canary_version) REFERENCES function_versions(function_id, version),
        CHECK ((canary_version IS NULL AND canary_weight = 0)
            OR (canary_version IS NOT NULL AND canary_weight BETWEEN 1 AND 99 AND canary_version <> version))
      )`);
    await queryRunner.query('ALTER TABLE invocations ADD COLUMN pinned_version integer');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE invocations DROP COLUMN pinned_version');
    await queryRunner.query('DROP TABLE function_aliases');
    await queryRunner.query('ALTER TABLE function_versions DROP COLUMN handler');
  }
}
