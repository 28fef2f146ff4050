import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Durable workflows (issue 12). A workflow is a function run whose steps are
 * checkpointed: `workflows` holds one row per workflow_id (the idempotency
 * key), leased to one data-plane process at a time (lease_owner starts with
 * its node id, as async leases do); `workflow_steps` holds each finished step
 * and each durable sleep in the order the code asked for them, so a resumed
 * run replays them instead of running them again; `workflow_events` keeps
 * what happened (start, checkpoints, owner changes, sleeps, the end) and
 * NOTIFYs nova_workflow_events for watchers.
 *
 * cluster_nodes gains raft_id, the number Raftoral's Discover and AddNode
 * speak of, and the status 'static': a member an operator added by hand
 * (AddNode) that does not heartbeat and is never routed to.
 */
export class Workflows1795510000000 implements MigrationInterface {
  name = 'Workflows1795510000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE workflows (
        id text PRIMARY KEY,
        function_name text NOT NULL,
        function_version integer NOT NULL,
        input text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'sleeping', 'succeeded', 'failed', 'cancelled')),
        result text,
        error text NOT NULL DEFAULT '',
        attempt integer NOT NULL DEFAULT 1,
        max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 10),
        backoff_base_ms integer NOT NULL,
        backoff_max_ms integer NOT NULL,
        owner_node text,
        lease_owner text,
        lease_until timestamptz,
        next_run_at timestamptz,
        correlation_id text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await queryRunner.query(`
      CREATE INDEX workflows_runnable ON workflows (next_run_at)
        WHERE status IN ('pending', 'running', 'sleeping')`);
    await queryRunner.query('CREATE INDEX workflows_by_function ON workflows (function_name, created_at DESC)');
    await queryRunner.query('CREATE INDEX workflows_by_created ON workflows (created_at DESC)');
    await queryRunner.query(
      'CREATE INDEX workflows_by_lease_owner ON workflows (lease_owner) WHERE lease_owner IS NOT NULL',
    );
    await queryRunner.query(`
      CREATE TABLE workflow_steps (
        workflow_id text NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
        seq integer NOT NULL CHECK (seq >= 0),
        kind text NOT NULL CHECK (kind IN ('step', 'sleep')),
        name text NOT NULL,
        result text,
        attempt integer NOT NULL,
        node_id text NOT NULL,
        started_at timestamptz NOT NULL,
        finished_at timestamptz,
        wake_at timestamptz,
        PRIMARY KEY (workflow_id, seq)
      )`);
    await queryRunner.query(`
      CREATE TABLE workflow_events (
        id bigserial PRIMARY KEY,
        workflow_id text NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
        at timestamptz NOT NULL DEFAULT clock_timestamp(),
        kind text NOT NULL,
        data jsonb NOT NULL DEFAULT '{}'
      )`);
    await queryRunner.query('CREATE INDEX workflow_events_by_workflow ON workflow_events (workflow_id, id)');
    // Every event is heard by watchers once committed: the trigger keeps that true for every writer.
    await queryRunner.query(`
      CREATE FUNCTION nova_workflow_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('nova_workflow_events', NEW.workflow_id);
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER workflow_events_notify AFTER INSERT ON workflow_events
        FOR EACH ROW EXECUTE FUNCTION nova_workflow_event_notify()`);

    await queryRunner.query('ALTER TABLE cluster_nodes ADD COLUMN raft_id bigserial');
    await queryRunner.query('ALTER TABLE cluster_nodes ADD CONSTRAINT cluster_nodes_raft_id_key UNIQUE (raft_id)');
    await queryRunner.query('ALTER TABLE cluster_nodes DROP CONSTRAINT cluster_nodes_status_check');
    await queryRunner.query(
      "ALTER TABLE cluster_nodes ADD CONSTRAINT cluster_nodes_status_check CHECK (status IN ('live', 'draining', 'static'))",
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query("DELETE FROM cluster_nodes WHERE status = 'static'");
    await queryRunner.query('ALTER TABLE cluster_nodes DROP CONSTRAINT cluster_nodes_status_check');
    await queryRunner.query(
      "ALTER TABLE cluster_nodes ADD CONSTRAINT cluster_nodes_status_check CHECK (status IN ('live', 'draining'))",
    );
    await queryRunner.query('ALTER TABLE cluster_nodes DROP COLUMN raft_id');
    await queryRunner.query('DROP TABLE workflow_events');
    await queryRunner.query('DROP FUNCTION nova_workflow_event_notify');
    await queryRunner.query('DROP TABLE workflow_steps');
    await queryRunner.query('DROP TABLE workflows');
  }
}
