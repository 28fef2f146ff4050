import { functionNetworks, type FunctionNetwork } from '#storage';
import { InvalidArgumentError, checkListPage } from '#server';
import { ArchiveError, findHandlerFile, handlerModule, isZip, unpackArchive } from '#runtimes';
import { apiLimits, formatBytes } from '#proto';

/** The limits a function's settings must respect; see control_plane.proto. */
export const functionLimits = {
  nameMaxLength: 63,
  handlerMaxLength: 255,
  codeMaxBytes: apiLimits.codeBytes,
  memoryMb: { min: 128, max: 10_240, default: 128 },
  timeoutS: { min: 1, max: 900, default: 30 },
  maxReplicas: { min: 1, max: 1000, default: 10 },
  concurrency: { min: 1, max: 100, default: 1 },
  /** Runtimes whose instances may serve several calls at once (async handlers on one event loop). */
  concurrentRuntimes: ['node'] as readonly string[],
  envVarsMaxBytes: 4096,
  modes: ['process'] as const,
  defaultMode: 'process',
  listLimit: { default: 100, max: 1000 },
} as const;

const dns1123Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const handlerPattern = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkName(name: string, field = 'name'): string {
  if (name === '') throw new InvalidArgumentError(field, 'is required');
  if (name.length > functionLimits.nameMaxLength) {
    throw new InvalidArgumentError(
      field,
      `must be at most ${functionLimits.nameMaxLength} characters (got ${name.length})`,
    );
  }
  if (!dns1123Label.test(name)) {
    throw new InvalidArgumentError(
      field,
      `"${name}" is not a DNS-1123 label: use lowercase letters, digits and '-', start with a letter and end with a letter or digit`,
    );
  }
  return name;
}

export function checkRuntime(runtime: string, available: readonly string[]): string {
  if (runtime === '') throw new InvalidArgumentError('runtime', `is required; one of ${available.join(', ')}`);
  if (!available.includes(runtime)) {
    throw new InvalidArgumentError('runtime', `"${runtime}" is not available here; one of ${available.join(', ')}`);
  }
  return runtime;
}

export function checkHandler(handler: string): string {
  if (handler === '') throw new InvalidArgumentError('handler', 'is required, e.g. "handler" or "module.func"');
  if (handler.length > functionLimits.handlerMaxLength || !handlerPattern.test(handler)) {
    throw new InvalidArgumentError(
      'handler',
      `"${handler.slice(0, 80)}" is not a function name or module.function path`,
    );
  }
  return handler;
}

export function checkCode(code: Uint8Array, field = 'code'): Buffer {
  if (code.length === 0) throw new InvalidArgumentError(field, 'is required');
  if (code.length > functionLimits.codeMaxBytes) {
    throw new InvalidArgumentError(
      field,
      `is ${code.length} bytes; at most ${functionLimits.codeMaxBytes} (${formatBytes(functionLimits.codeMaxBytes)})`,
    );
  }
  return Buffer.from(code.buffer, code.byteOffset, code.length);
}

/**
 * A zip archive is unpacked (in a worker, discarding the contents) before
 * it is stored, so that what would fail at the first invoke, or could harm
 * the node unpacking it, is refused now, naming the entry; and the module
 * the handler names must be in it. (A single source file is stored under
 * the handler's module name, so it always is.)
 */
export async function checkCodeRunsHandler(code: Buffer, runtime: string, handler: string): Promise<Buffer> {
  if (!isZip(code)) return code;
  let files: Map<string, Uint8Array>;
  try {
    files = await unpackArchive(code, { keepContents: false });
  } catch (error) {
    if (error instanceof ArchiveError) throw new InvalidArgumentError('code', `zip archive ${error.message}`);
    throw error;
  }
  const { module, exportName, candidates } = handlerModule(runtime, handler);
  if (candidates.length > 0 && !findHandlerFile(runtime, handler, new Set(files.keys()))) {
    const example = runtime === 'python' ? `"main.${exportName}" for main.py` : `"index.${exportName}" for index.js`;
    throw new InvalidArgumentError(
      'handler',
      `"${handler}" is function ${exportName} of module "${module}", but the zip has no ${candidates.join(' or ')}; ` +
        `put the module in the handler, e.g. ${example}`,
    );
  }
  return code;
}

const aliasPattern = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** Alias names: they follow "NAME:" in a call, so never a number, and "latest" always means the latest version. */
export function checkAliasName(name: string): string {
  if (name === '') throw new InvalidArgumentError('name', 'is required, e.g. "prod"');
  if (!aliasPattern.test(name)) {
    throw new InvalidArgumentError(
      'name',
      `"${name.slice(0, 80)}" is not an alias name: 1 to 64 letters, digits, '-' or '_', starting with a letter`,
    );
  }
  if (name === 'latest')
    throw new InvalidArgumentError('name', '"latest" is reserved: it always means the latest version');
  return name;
}

/** Where an alias sends calls: a version, and a canary version with its percent, or neither. */
export function checkAliasRoute(route: { version: number; canaryVersion: number; canaryWeight: number }): {
  version: number;
  canaryVersion: number;
  canaryWeight: number;
} {
  const { version, canaryVersion, canaryWeight } = route;
  if (!Number.isInteger(version) || version < 1) {
    throw new InvalidArgumentError('version', `must be a version number, 1 or more (got ${version})`);
  }
  if (canaryVersion === 0 && canaryWeight === 0) return { version, canaryVersion: 0, canaryWeight: 0 };
  if (!Number.isInteger(canaryVersion) || canaryVersion < 1) {
    throw new InvalidArgumentError(
      'canary_version',
      `must be a version number when canary_weight is set (got ${canaryVersion})`,
    );
  }
  if (canaryVersion === version) {
    throw new InvalidArgumentError('canary_version', `must differ from version (both ${version})`);
  }
  if (!Number.isInteger(canaryWeight) || canaryWeight < 1 || canaryWeight > 99) {
    throw new InvalidArgumentError(
      'canary_weight',
      `must be 1 to 99 percent with a canary version (got ${canaryWeight})`,
    );
  }
  return { version, canaryVersion, canaryWeight };
}

export function checkAliasDescription(description: string): string {
  if (description.length > 256) {
    throw new InvalidArgumentError('description', `must be at most 256 characters (got ${description.length})`);
  }
  return description;
}

function checkRange(field: string, value: number, limits: { min: number; max: number }): number {
  if (!Number.isInteger(value) || value < limits.min || value > limits.max) {
    throw new InvalidArgumentError(field, `must be ${limits.min} to ${limits.max} (got ${value})`);
  }
  return value;
}

/** 0 means the default. */
export function checkMemoryMb(value: number): number {
  return value === 0 ? functionLimits.memoryMb.default : checkRange('memory_mb', value, functionLimits.memoryMb);
}

/** 0 means the default. */
export function checkTimeoutS(value: number): number {
  return value === 0 ? functionLimits.timeoutS.default : checkRange('timeout_s', value, functionLimits.timeoutS);
}

/** 0 means the default. */
/** What one node can run, from NOVA_MAX_INSTANCES and NOVA_MAX_MEMORY_MB. */
export interface NodeCapacity {
  maxInstances: number;
  maxMemoryMb: number;
}

/** Unset (0) means the default, or the node's cap when that is lower. */
export function checkMaxReplicas(value: number, node: NodeCapacity): number {
  if (value === 0) return Math.min(functionLimits.maxReplicas.default, node.maxInstances);
  checkRange('max_replicas', value, functionLimits.maxReplicas);
  if (value > node.maxInstances) {
    throw new InvalidArgumentError(
      'max_replicas',
      `${value} is more instances than a node runs in all (${node.maxInstances}, NOVA_MAX_INSTANCES)`,
    );
  }
  return value;
}

/**
 * Instances kept warm must fit a node with room to spare for nothing else:
 * at most its instance cap, and their memory within its memory cap.
 */
export function checkReplicasFitNode(settings: { minReplicas: number; memoryMb: number }, node: NodeCapacity): void {
  const { minReplicas, memoryMb } = settings;
  if (minReplicas > node.maxInstances) {
    throw new InvalidArgumentError(
      'min_replicas',
      `${minReplicas} is more instances than a node runs in all (${node.maxInstances}, NOVA_MAX_INSTANCES)`,
    );
  }
  if (minReplicas * memoryMb > node.maxMemoryMb) {
    throw new InvalidArgumentError(
      'min_replicas',
      `${minReplicas} instances of ${memoryMb} MiB need ${minReplicas * memoryMb} MiB; a node allows ${node.maxMemoryMb} MiB (NOVA_MAX_MEMORY_MB)`,
    );
  }
}

export function checkMinReplicas(value: number, maxReplicas: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new InvalidArgumentError('min_replicas', `must be 0 or more (got ${value})`);
  if (value > maxReplicas) {
    throw new InvalidArgumentError('min_replicas', `must not exceed max_replicas (${value} > ${maxReplicas})`);
  }
  return value;
}

export function checkMode(mode: string): string {
  if (mode === '') return functionLimits.defaultMode;
  if (!(functionLimits.modes as readonly string[]).includes(mode)) {
    throw new InvalidArgumentError('mode', `"${mode}" is not a mode; one of ${functionLimits.modes.join(', ')}`);
  }
  return mode;
}

/** 0 means the default, 1. */
export function checkConcurrency(value: number): number {
  return value === 0
    ? functionLimits.concurrency.default
    : checkRange('concurrency', value, functionLimits.concurrency);
}

/**
 * Above 1 only where one process can overlap calls: Python's and WASM's
 * handlers run to completion one at a time, so a second call written to
 * them would only wait behind the first.
 */
export function checkConcurrencyFitsRuntime(value: number, runtime: string): void {
  if (value > 1 && !functionLimits.concurrentRuntimes.includes(runtime)) {
    throw new InvalidArgumentError(
      'concurrency',
      `${value} is for runtimes whose instances serve calls at once (${functionLimits.concurrentRuntimes.join(', ')}); a ${runtime} instance serves one call at a time`,
    );
  }
}

/** Empty means the default, none. */
export function checkNetwork(network: string): FunctionNetwork {
  if (network === '') return 'none';
  if (!(functionNetworks as readonly string[]).includes(network)) {
    throw new InvalidArgumentError(
      'network',
      `"${network.slice(0, 40)}" is not a network mode; one of ${functionNetworks.join(', ')}`,
    );
  }
  return network as FunctionNetwork;
}

export function checkEnvVars(envVars: Record<string, string>): Record<string, string> {
  let bytes = 0;
  for (const [name, value] of Object.entries(envVars)) {
    if (!envNamePattern.test(name)) {
      throw new InvalidArgumentError(
        'env_vars',
        `"${name.slice(0, 80)}" is not a valid name: use letters, digits and '_', not starting with a digit`,
      );
    }
    if (name.toUpperCase().startsWith('NOVA_')) {
      throw new InvalidArgumentError('env_vars', `"${name}": names starting with NOVA_ are reserved for Nova`);
    }
    // A NUL cannot be in a process's environment: refused here rather than
    // failing when an instance starts.
    if (value.includes('\0'))
      throw new InvalidArgumentError('env_vars', `"${name}": a value cannot contain a NUL byte`);
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > functionLimits.envVarsMaxBytes) {
    throw new InvalidArgumentError(
      'env_vars',
      `take ${bytes} bytes in all; at most ${functionLimits.envVarsMaxBytes} (4 KiB)`,
    );
  }
  return { ...envVars };
}

/** Paging of ListFunctions (the rule itself is shared with every List call). */
export function checkPage(limit: number, offset: number): { limit: number; offset: number } {
  return checkListPage(limit, offset, functionLimits.listLimit);
}

export const updatableFields = [
  'memory_mb',
  'timeout_s',
  'env_vars',
  'min_replicas',
  'max_replicas',
  'network',
  'handler',
  'concurrency',
] as const;
export type UpdatableField = (typeof updatableFields)[number];

/** update_mask entries, accepted in snake_case or camelCase. */
export function checkUpdateMask(paths: readonly string[]): Set<UpdatableField> {
  const mask = new Set<UpdatableField>();
  for (const path of paths) {
    const snake = path.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
    if (!(updatableFields as readonly string[]).includes(snake)) {
      throw new InvalidArgumentError(
        'update_mask',
        `"${path}" is not an updatable field; one of ${updatableFields.join(', ')}`,
      );
    }
    mask.add(snake as UpdatableField);
  }
  return mask;
}
