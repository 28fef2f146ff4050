/**
 * Postgres NOTIFY channels. Writers notify inside the writing transaction, so
 * a listener hears of a change only once it is committed.
 */
export const notifyChannels = {
  /** Payload: FunctionChange as JSON. */
  functions: 'nova_functions',
  /** Payload: ApiKeyChange as JSON. */
  apiKeys: 'nova_api_keys',
  /** Payload: the function name of a newly queued asynchronous invocation. */
  asyncInvocations: 'nova_async',
  /** Payload: comma-separated ids of invocations (or async attempts) that just finished. */
  invocationsFinished: 'nova_invocations',
  /** Payload: a CommitNotice (commit_ts and agents) of a state commit, for Replay's follow; sent by nova_state_apply (SQL). */
  stateCommits: 'nova_state',
  /** Payload: a NodeChange as JSON, on every registration, heartbeat, drain and departure. */
  nodes: 'nova_nodes',
  /** Payload: a RegistryChange as JSON, when an agent, tool or worker is registered again or removed. */
  agentRegistry: 'nova_agents',
  /** Payload: a WorkflowChange as JSON, when a workflow is started (workers claim it) or cancelled (its owner stops it). */
  workflows: 'nova_workflows',
  /** Payload: the workflow id of a new workflow event; sent by a trigger on workflow_events (migration 1795510000000). */
  workflowEvents: 'nova_workflow_events',
} as const;

export type NotifyChannel = (typeof notifyChannels)[keyof typeof notifyChannels];

export interface FunctionChange {
  op: 'created' | 'updated' | 'code_updated' | 'deleted' | 'alias_set' | 'alias_deleted';
  name: string;
  version: number;
}

export interface ApiKeyChange {
  op: 'created' | 'revoked';
  id: string;
}

export interface NodeChange {
  op: 'registered' | 'heartbeat' | 'draining' | 'deregistered' | 'removed';
  id: string;
}

export interface RegistryChange {
  op: 'registered' | 'unregistered';
  kind: 'agent' | 'tool' | 'worker';
  id: string;
}

export interface WorkflowChange {
  op: 'started' | 'cancelled';
  id: string;
}
