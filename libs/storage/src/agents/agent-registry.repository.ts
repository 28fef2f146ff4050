import type { Sql } from '../database/sql.js';
import { notifyChannels, type NotifyChannel, type RegistryChange } from '../database/notify-channels.js';

export type RegisteredKind = 'agent' | 'tool' | 'worker';

/** An agent, tool or worker as stored: its info as the wire has it, and what serves it. */
export interface RegisteredRecord {
  kind: RegisteredKind;
  id: string;
  /** The agentplatform AgentInfo, ToolInfo or WorkerInfo, as JSON. */
  info: Record<string, unknown>;
  /** "function:NAME" or "host:port". */
  backends: string[];
  createdAt: Date;
  updatedAt: Date;
}

interface RegistryRow {
  kind: RegisteredKind;
  id: string;
  info: Record<string, unknown>;
  backends: string[];
  created_at: Date;
  updated_at: Date;
}

function toRegisteredRecord(row: RegistryRow): RegisteredRecord {
  return {
    kind: row.kind,
    id: row.id,
    info: row.info,
    backends: row.backends,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function notice(change: RegistryChange): [NotifyChannel, string] {
  return [notifyChannels.agentRegistry, JSON.stringify(change)];
}

/** The agent platform's registry (migration 1795490000000); every change NOTIFYs nova_agents. */
export class AgentRegistryRepository {
  constructor(private readonly sql: Sql) {}

  /** Stores it, or replaces what was stored under the same kind and id; 'unchanged' when it was stored just so. */
  async register(
    kind: RegisteredKind,
    id: string,
    info: Record<string, unknown>,
    backends: string[],
  ): Promise<'created' | 'updated' | 'unchanged'> {
    return this.sql.transaction(async (tx) => {
      const row = await tx.one<{ created: boolean }>(
        `INSERT INTO agent_registry (kind, id, info, backends) VALUES ($1, $2, $3::jsonb, $4)
         ON CONFLICT (kind, id) DO UPDATE SET info = EXCLUDED.info, backends = EXCLUDED.backends, updated_at = now()
          WHERE (agent_registry.info, agent_registry.backends) IS DISTINCT FROM (EXCLUDED.info, EXCLUDED.backends)
         RETURNING (xmax = 0) AS created`,
        [kind, id, JSON.stringify(info), backends],
      );
      if (!row) return 'unchanged';
      await tx.notify(...notice({ op: 'registered', kind, id }));
      return row.created ? 'created' : 'updated';
    });
  }

  async unregister(kind: RegisteredKind, id: string): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const rows = await tx.rows('DELETE FROM agent_registry WHERE kind = $1 AND id = $2 RETURNING id', [kind, id]);
      if (rows.length > 0) await tx.notify(...notice({ op: 'unregistered', kind, id }));
      return rows.length > 0;
    });
  }

  async get(kind: RegisteredKind, id: string): Promise<RegisteredRecord | undefined> {
    const row = await this.sql.one<RegistryRow>('SELECT * FROM agent_registry WHERE kind = $1 AND id = $2', [kind, id]);
    return row && toRegisteredRecord(row);
  }

  /** Everything registered, by kind and id. */
  async list(): Promise<RegisteredRecord[]> {
    return (await this.sql.rows<RegistryRow>('SELECT * FROM agent_registry ORDER BY kind, id')).map(toRegisteredRecord);
  }

  /** Remembers the async invocation that runs a task; the first one stays when the task is asked for again. */
  async recordTask(taskId: string, workerId: string, invocationId: string): Promise<string> {
    const row = await this.sql.one<{ invocation_id: string }>(
      `WITH added AS (
         INSERT INTO agent_tasks (task_id, worker_id, invocation_id) VALUES ($1, $2, $3)
         ON CONFLICT (task_id) DO NOTHING RETURNING invocation_id)
       SELECT invocation_id FROM added
       UNION ALL SELECT invocation_id FROM agent_tasks WHERE task_id = $1
       LIMIT 1`,
      [taskId, workerId, invocationId],
    );
    return row?.invocation_id ?? invocationId;
  }

  async findTask(taskId: string): Promise<{ workerId: string; invocationId: string } | undefined> {
    const row = await this.sql.one<{ worker_id: string; invocation_id: string }>(
      'SELECT worker_id, invocation_id FROM agent_tasks WHERE task_id = $1',
      [taskId],
    );
    return row && { workerId: row.worker_id, invocationId: row.invocation_id };
  }
}
