import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cluster membership (issue 11): one row per running data-plane process.
 * A node registers at start, heartbeats every heartbeat_ms, is marked
 * draining when it shuts down and deletes its row once drained. Whether it
 * is alive is not stored: a node whose heartbeat is older than three of its
 * own intervals is dead, whoever asks, so a killed node needs nobody to
 * mark it. Every change and every heartbeat NOTIFYs nova_nodes, so routers
 * keep the node set in memory without polling.
 */
export class ClusterNodes1795480000000 implements MigrationInterface {
  name = 'ClusterNodes1795480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE cluster_nodes (
        id text PRIMARY KEY,
        address text NOT NULL,
        planes text[] NOT NULL,
        runtimes text[] NOT NULL,
        capacity integer NOT NULL CHECK (capacity >= 0),
        status text NOT NULL CHECK (status IN ('live', 'draining')),
        version text NOT NULL,
        heartbeat_ms integer NOT NULL CHECK (heartbeat_ms > 0),
        started_at timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL,
        in_flight integer NOT NULL DEFAULT 0,
        warm_instances integer NOT NULL DEFAULT 0
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE cluster_nodes');
  }
}
