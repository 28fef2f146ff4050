import { errorClassFor, type ErrorKind } from '#server';

/** Why no instance could be had for a call. */
export enum PoolErrorCode {
  QueueFull = 'QUEUE_FULL',
  NoInstanceInTime = 'NO_INSTANCE_IN_TIME',
  NodeFull = 'NODE_FULL',
  FunctionDeleted = 'FUNCTION_DELETED',
  RuntimeUnavailable = 'RUNTIME_UNAVAILABLE',
  EgressUnavailable = 'EGRESS_UNAVAILABLE',
  InstanceStartFailed = 'INSTANCE_START_FAILED',
}

const kinds = {
  [PoolErrorCode.QueueFull]: 'resource_exhausted',
  [PoolErrorCode.NoInstanceInTime]: 'resource_exhausted',
  [PoolErrorCode.NodeFull]: 'resource_exhausted',
  [PoolErrorCode.FunctionDeleted]: 'not_found',
  [PoolErrorCode.RuntimeUnavailable]: 'unavailable',
  [PoolErrorCode.EgressUnavailable]: 'unavailable',
  [PoolErrorCode.InstanceStartFailed]: 'unavailable',
} as const satisfies Record<PoolErrorCode, ErrorKind>;

export class PoolError extends errorClassFor(kinds) {}

export const poolErrors = {
  queueFull: (name: string, maxReplicas: number, queueLimit: number) =>
    new PoolError(
      PoolErrorCode.QueueFull,
      `function "${name}": all ${maxReplicas} instances are busy and ${queueLimit} calls are already waiting`,
    ),
  noInstanceInTime: (name: string, maxReplicas: number) =>
    new PoolError(
      PoolErrorCode.NoInstanceInTime,
      `function "${name}": no instance of ${maxReplicas} became free within the call's timeout`,
    ),
  nodeFull: (instances: number, memoryMb: number, maxInstances: number, maxMemoryMb: number) =>
    new PoolError(
      PoolErrorCode.NodeFull,
      `this node runs ${instances} instances using ${memoryMb} MiB, its limit is ` +
        `${maxInstances} instances and ${maxMemoryMb} MiB (NOVA_MAX_INSTANCES, NOVA_MAX_MEMORY_MB), and none is idle`,
    ),
  functionDeleted: (name: string) => new PoolError(PoolErrorCode.FunctionDeleted, `function "${name}" was deleted`),
  runtimeUnavailable: (runtime: string) =>
    new PoolError(PoolErrorCode.RuntimeUnavailable, `runtime "${runtime}" is not available on this node`),
  egressUnavailable: (name: string) =>
    new PoolError(
      PoolErrorCode.EgressUnavailable,
      `function "${name}" needs network egress; slirp4netns is not installed on this node`,
    ),
  noNamespace: () => new PoolError(PoolErrorCode.InstanceStartFailed, 'the instance did not report its namespace'),
  startFailed: (runtime: string, reason: string) =>
    new PoolError(PoolErrorCode.InstanceStartFailed, `could not start a ${runtime} instance: ${reason}`),
};
