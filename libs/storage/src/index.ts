export { Database, type DatabaseOptions } from './database/database.js';
export { EmbeddedPostgres } from './embedded/embedded-postgres.js';
export { retryDelayMs } from './database/backoff.js';
export { isProcessAlive } from './database/process-alive.js';
export { freeLoopbackPort, listenProblem } from './database/free-port.js';
export { Sql, lockFailureOf, storableText, type SqlResult } from './database/sql.js';
export { withTimeout } from './database/with-timeout.js';
export { isDatabaseUnavailable } from './database/unavailable.js';
export { NotificationListener } from './database/notification-listener.js';
export {
  notifyChannels,
  type NotifyChannel,
  type FunctionChange,
  type NodeChange,
  type RegistryChange,
  type ApiKeyChange,
  type WorkflowChange,
} from './database/notify-channels.js';
export { StorageModule } from './storage.module.js';
export { FunctionsRepository, sha256Hex } from './functions/functions.repository.js';
export type {
  FunctionRecord,
  NewFunction,
  FunctionSettingsPatch,
  FunctionCode,
  FunctionVersionRecord,
  FunctionNetwork,
  AliasRoute,
  AliasRecord,
  VersionTarget,
  StoredVersion,
} from './functions/function-record.js';
export { functionNetworks } from './functions/function-record.js';
export { ApiKeysRepository, hashApiKey } from './api-keys/api-keys.repository.js';
export { apiKeyScopes, scopeAllows, type ApiKeyScope, type ApiKeyRecord } from './api-keys/api-key-record.js';
export { InvocationsRepository } from './invocations/invocations.repository.js';
export { AsyncQueueRepository } from './invocations/async-queue.repository.js';
export { invocationStatuses, invocationKinds } from './invocations/invocation-record.js';
export type {
  InvocationRecord,
  InvocationDetail,
  InvocationMetrics,
  InvocationStatus,
  InvocationKind,
  AttemptRecord,
  NewAsyncInvocation,
  ClaimedInvocation,
  AttemptResult,
} from './invocations/invocation-record.js';
export { OpenStateTransaction, StateRepository, type CommitNotice } from './state/state.repository.js';
export type {
  JsonObject,
  JsonValue,
  StateKey,
  StagedOperation,
  StateValue,
  StateEntryRecord,
  StateEvent,
  TransactionProblem,
  CommitConflict,
  AppliedOperation,
} from './state/state-record.js';
export { NodesRepository } from './nodes/nodes.repository.js';
export {
  AgentRegistryRepository,
  type RegisteredKind,
  type RegisteredRecord,
} from './agents/agent-registry.repository.js';
export type { NodeLoad, NodeRecord, NodeRegistration, NodeStatus } from './nodes/node-record.js';
export { WorkflowsRepository } from './workflows/workflows.repository.js';
export { workflowStatuses, finalWorkflowStatuses, workflowEventKinds } from './workflows/workflow-record.js';
export type {
  WorkflowStatus,
  NewWorkflow,
  WorkflowRecord,
  WorkflowStepRecord,
  WorkflowEventKind,
  WorkflowEventRecord,
  ClaimedWorkflow,
  WorkflowFilter,
  StepCheckpoint,
  CheckpointOutcome,
} from './workflows/workflow-record.js';
