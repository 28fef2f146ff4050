/**
 * Nova's TypeScript SDK: typed, promise-based clients whose public surface
 * holds no gRPC types (errors carry the status name as a string).
 */
export {
  AlreadyExistsError,
  AuthError,
  ConflictError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  NovaError,
  TransactionError,
} from './errors.js';
export type { ClientTls } from './connection.js';
export {
  Statehouse,
  Transaction,
  type ClientOptions,
  type JsonObject,
  type JsonValue,
  type OperationOptions,
  type ReplayEvent,
  type ReplayOptions,
  type StateEntry,
  type StateResult,
  type StatehouseOptions,
  type TransactionOptions,
} from './statehouse.js';
export {
  Nova,
  type AliasInfo,
  type AliasSpec,
  type CodeUpdate,
  type FollowLogsOptions,
  type FunctionChanges,
  type FunctionInfo,
  type FunctionMetrics,
  type FunctionSettings,
  type FunctionSpec,
  type FunctionVersionInfo,
  type Invocation,
  type InvocationAttempt,
  type InvocationFilter,
  type InvocationPage,
  type InvocationResult,
  type InvokeAsyncOptions,
  type InvokeOptions,
  type NodeFilter,
  type NodeInfo,
  type Payload,
  type QueuedInvocation,
  type RuntimeInfo,
  type StreamChunk,
  type StreamOptions,
  type WaitOptions,
} from './nova.js';
export {
  Agents,
  type AgentSpec,
  type Backing,
  type ParameterInfo,
  type RegisteredService,
  type Registration,
  type TaskChunk,
  type TaskOptions,
  type TaskResult,
  type ToolResult,
  type ToolSpec,
  type WorkerSpec,
} from './agents.js';
export {
  Workflows,
  type WorkflowEvent,
  type WorkflowInfo,
  type WorkflowStartOptions,
  type WorkflowStatus,
  type WorkflowStep,
} from './workflows.js';
