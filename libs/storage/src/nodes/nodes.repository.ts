import type { Sql } from '../database/sql.js';
import { notifyChannels, type NodeChange } from '../database/notify-channels.js';
import type { NodeLoad, NodeRecord, NodeRegistration, NodeStatus } from './node-record.js';

interface NodeRow {
  id: string;
  address: string;
  planes: string[];
  runtimes: string[];
  capacity: number;
  status: NodeStatus;
  version: string;
  heartbeat_ms: number;
  started_at: Date;
  heartbeat_at: Date;
  in_flight: number;
  warm_instances: number;
  raft_id: string;
}

/** A node is dead after three of its own heartbeat intervals without one; computed where it is read. */
const HEARTBEAT_STALE = 'heartbeat_at < now() - make_interval(secs => 3 * heartbeat_ms / 1000.0)';
const STATUS = `CASE WHEN status = 'static' THEN 'static' WHEN ${HEARTBEAT_STALE} THEN 'dead' ELSE status END AS status`;

/**
 * The ids of dead nodes, as a subquery: work leased by a process whose lease
 * owner starts with one of them can be taken over at once.
 */
export const DEAD_NODE_IDS = `SELECT id FROM cluster_nodes WHERE status <> 'static' AND ${HEARTBEAT_STALE}`;
const COLUMNS = `id, address, planes, runtimes, capacity, ${STATUS}, version, heartbeat_ms, started_at, heartbeat_at,
                 in_flight, warm_instances, raft_id`;

function toNodeRecord(row: NodeRow): NodeRecord {
  return {
    id: row.id,
    address: row.address,
    planes: row.planes,
    runtimes: row.runtimes,
    capacity: row.capacity,
    status: row.status,
    version: row.version,
    heartbeatMs: row.heartbeat_ms,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    inFlight: row.in_flight,
    warmInstances: row.warm_instances,
    raftId: Number(row.raft_id),
  };
}

/** The NOTIFY of a statement that changed a node: sent with it, heard once it commits. */
function notice(op: NodeChange['op']): string {
  return `pg_notify('${notifyChannels.nodes}', json_build_object('op', '${op}', 'id', id)::text)`;
}

/**
 * Cluster membership in PostgreSQL (migration 1795480000000): the nodes,
 * their heartbeats and their load. Every write notifies nova_nodes in the
 * same statement.
 */
export class NodesRepository {
  constructor(private readonly sql: Sql) {}

  /** Joins the cluster as live, or joins again under the same id (a restart): started_at starts over. */
  async register(node: NodeRegistration): Promise<void> {
    await this.sql.run(
      `WITH up AS (
         INSERT INTO cluster_nodes (id, address, planes, runtimes, capacity, status, version, heartbeat_ms,
                                    started_at, heartbeat_at)
         VALUES ($1, $2, $3, $4, $5, 'live', $6, $7, now(), now())
         ON CONFLICT (id) DO UPDATE
            SET address = EXCLUDED.address, planes = EXCLUDED.planes, runtimes = EXCLUDED.runtimes,
                capacity = EXCLUDED.capacity, status = 'live', version = EXCLUDED.version,
                heartbeat_ms = EXCLUDED.heartbeat_ms, started_at = now(), heartbeat_at = now(),
                in_flight = 0, warm_instances = 0
         RETURNING id)
       SELECT ${notice('registered')} FROM up`,
      [node.id, node.address, node.planes, node.runtimes, node.capacity, node.version, node.heartbeatMs],
    );
  }

  /**
   * Records a heartbeat and the node's load. Answers the node's stored
   * status (draining when an operator drained it), or undefined when its
   * row is gone (removed while it seemed dead): it must register again.
   */
  async heartbeat(id: string, load: NodeLoad): Promise<'live' | 'draining' | undefined> {
    const row = await this.sql.one<{ status: 'live' | 'draining' }>(
      `WITH up AS (
         UPDATE cluster_nodes SET heartbeat_at = now(), in_flight = $2, warm_instances = $3
          WHERE id = $1 RETURNING id, status)
       SELECT status, ${notice('heartbeat')} FROM up`,
      [id, load.inFlight, load.warmInstances],
    );
    return row?.status;
  }

  /** Stops new calls to the node; it finishes its work, then deregisters. Undefined for an unknown id. */
  async drain(id: string): Promise<NodeRecord | undefined> {
    const row = await this.sql.one<NodeRow>(
      `WITH up AS (UPDATE cluster_nodes SET status = 'draining' WHERE id = $1 RETURNING *),
            notified AS (SELECT ${notice('draining')} FROM up)
       SELECT ${COLUMNS} FROM up, notified`,
      [id],
    );
    return row && toNodeRecord(row);
  }

  /** A node leaving on its own, drained. */
  async deregister(id: string): Promise<void> {
    await this.sql.run(
      `WITH gone AS (DELETE FROM cluster_nodes WHERE id = $1 RETURNING id) SELECT ${notice('deregistered')} FROM gone`,
      [id],
    );
  }

  /**
   * Records a member an operator names (Raftoral's AddNode): a static node
   * with that number and address, never routed to, until a node registers
   * under its id. Answers the node that already holds the number, if another does.
   */
  async addStatic(raftId: number, address: string): Promise<{ added: true } | { added: false; takenBy: string }> {
    const id = String(raftId);
    return this.sql.transaction(async (tx) => {
      const holder = await tx.one<{ id: string }>('SELECT id FROM cluster_nodes WHERE raft_id = $1', [raftId]);
      if (holder && holder.id !== id) return { added: false, takenBy: holder.id };
      await tx.run(
        `WITH up AS (
           INSERT INTO cluster_nodes (id, address, planes, runtimes, capacity, status, version, heartbeat_ms,
                                      started_at, heartbeat_at, raft_id)
           VALUES ($1, $2, '{}', '{}', 0, 'static', '', 1000, now(), now(), $3)
           ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address
             WHERE cluster_nodes.status = 'static'
           RETURNING id)
         SELECT ${notice('registered')} FROM up`,
        [id, address, raftId],
      );
      // Numbers handed out later start above every number in use.
      await tx.run(
        "SELECT setval(pg_get_serial_sequence('cluster_nodes', 'raft_id'), (SELECT max(raft_id) FROM cluster_nodes))",
      );
      return { added: true };
    });
  }

  /** The highest node number in use (0 with no node). */
  async highestRaftId(): Promise<number> {
    const row = await this.sql.one<{ highest: string | null }>('SELECT max(raft_id) AS highest FROM cluster_nodes');
    return Number(row?.highest ?? 0);
  }

  /** Forgets a dead node; a node still heartbeating is refused ('alive'), an unknown id is 'unknown'. */
  async remove(id: string): Promise<'removed' | 'alive' | 'unknown'> {
    const rows = await this.sql.rows<{ removed: boolean }>(
      `WITH target AS (SELECT id, ${STATUS} FROM cluster_nodes WHERE id = $1 FOR UPDATE),
            gone AS (DELETE FROM cluster_nodes n USING target t
                      WHERE n.id = t.id AND t.status IN ('dead', 'static') RETURNING n.id),
            notified AS (SELECT ${notice('removed')} FROM gone)
       SELECT EXISTS (SELECT 1 FROM gone) AS removed FROM target LEFT JOIN notified ON true`,
      [id],
    );
    if (rows.length === 0) return 'unknown';
    return rows[0]!.removed ? 'removed' : 'alive';
  }

  /** Every node, dead ones included, by id. */
  async list(): Promise<NodeRecord[]> {
    return (await this.sql.rows<NodeRow>(`SELECT ${COLUMNS} FROM cluster_nodes ORDER BY id`)).map(toNodeRecord);
  }

  async get(id: string): Promise<NodeRecord | undefined> {
    const row = await this.sql.one<NodeRow>(`SELECT ${COLUMNS} FROM cluster_nodes WHERE id = $1`, [id]);
    return row && toNodeRecord(row);
  }
}
