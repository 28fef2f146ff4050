export { loadConfig, ConfigError, type ConfigSources } from './config/load-config.js';
export { readCheckedYaml, type CheckedYaml } from './config/yaml-keys.js';
export { NOVA_CONFIG, type NovaConfig } from './config/nova-config.js';
export {
  settings,
  shownDefaultOf,
  renderSettingsTable,
  type SettingDefinition,
  type SettingKey,
  grpcModes,
  logLevels,
  authModes,
  type GrpcMode,
  type LogLevel,
  type AuthMode,
  type BalanceMode,
} from './config/settings.js';
export { DomainError, errorClassFor, type ErrorKind } from './errors/domain-error.js';
export {
  CommonErrorCode,
  InvalidArgumentError,
  FunctionNotFoundError,
  VersionNotFoundError,
  AliasNotFoundError,
  checkListPage,
  raise,
} from './errors/common.errors.js';
export { GrpcStatusFilter, toGrpcStatus } from './errors/grpc-status.filter.js';
export { JsonLogger, setLogLevel } from './logging/json-logger.js';
export { ThrottledLog } from './logging/throttled-log.js';
export { REQUEST_ID_HEADER, requestIdOf } from './logging/request-id.js';
export { currentRequestId, runDetached, runWithRequestId } from './logging/request-context.js';
export { RequiredScope } from './auth/required-scope.decorator.js';
export { GrpcHealth, LIVENESS_SERVICE } from './health/grpc-health.js';
export { NovaMetrics, MetricFamily, CounterSeries, HistogramSeries, DURATION_BUCKETS } from './metrics/nova-metrics.js';
export { NovaTracing, TRACEPARENT, traceparentOf, validTraceparent, type ActiveSpan } from './tracing/nova-tracing.js';
export { NovaServerModule } from './nova-server.module.js';
export { startNovaServer, stopOnSignals, type RunningNovaServer } from './grpc/nova-server.js';
export type { PlaneDefinition, RawGrpcService } from './grpc/plane.js';
export { runNovaProcess } from './grpc/run-plane.js';
export { ServerStopping } from './grpc/server-stopping.js';
export { deadlineOf } from './grpc/deadline.js';
export { NodeMembership } from './cluster/node-membership.js';
export { NodeReport } from './cluster/node-report.js';
export {
  FunctionInvoker,
  type FunctionCall,
  type FunctionOutcome,
  type FunctionStreamItem,
  type InvocationState,
  type QueuedFunctionCall,
} from './invoke/function-invoker.js';
export { Periodic } from './periodic.js';
export { ClaimLoop, type ClaimLoopOptions } from './claim-loop.js';
export { buildInfo, type BuildInfo } from './build-info.js';
