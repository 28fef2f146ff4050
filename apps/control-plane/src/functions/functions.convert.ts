import type { controlPlane } from '#proto';
import type { AliasRecord, FunctionRecord, FunctionVersionRecord } from '#storage';
import type { RuntimeDescriptor } from '#runtimes';
import { checkUpdateMask } from './function-rules.js';
import type { AliasSpec, FunctionChanges, FunctionSpec } from './functions.service.js';

// Between nova.v1.ControlPlane's messages and the functions feature's own
// types: the controller calls these and nothing past it sees a wire type.

export function toFunctionSpec(request: controlPlane.CreateFunctionRequest): FunctionSpec {
  return {
    name: request.name,
    runtime: request.runtime,
    handler: request.handler,
    code: request.code,
    memoryMb: request.memoryMb,
    timeoutS: request.timeoutS,
    mode: request.mode,
    minReplicas: request.minReplicas,
    maxReplicas: request.maxReplicas,
    envVars: request.envVars,
    network: request.network,
    concurrency: request.concurrency,
  };
}

/**
 * The changes an UpdateFunction asks for: fields that are set, and fields
 * named in update_mask even when they hold their zero value (proto3 cannot
 * tell "0" from "unset" otherwise).
 */
export function toFunctionChanges(request: controlPlane.UpdateFunctionRequest): FunctionChanges {
  const mask = checkUpdateMask(request.updateMask);
  const changes: FunctionChanges = {};
  if (request.memoryMb !== 0 || mask.has('memory_mb')) changes.memoryMb = request.memoryMb;
  if (request.timeoutS !== 0 || mask.has('timeout_s')) changes.timeoutS = request.timeoutS;
  if (Object.keys(request.envVars).length > 0 || mask.has('env_vars')) changes.envVars = request.envVars;
  if (request.maxReplicas !== 0 || mask.has('max_replicas')) changes.maxReplicas = request.maxReplicas;
  if (request.minReplicas !== 0 || mask.has('min_replicas')) changes.minReplicas = request.minReplicas;
  if (request.network !== '' || mask.has('network')) changes.network = request.network;
  if (request.handler !== '' || mask.has('handler')) changes.handler = request.handler;
  if (request.concurrency !== 0 || mask.has('concurrency')) changes.concurrency = request.concurrency;
  return changes;
}

export function toFunctionInfo(record: FunctionRecord): controlPlane.FunctionInfo {
  return {
    id: record.id,
    name: record.name,
    runtime: record.runtime,
    handler: record.handler,
    memoryMb: record.memoryMb,
    timeoutS: record.timeoutS,
    mode: record.mode,
    minReplicas: record.minReplicas,
    maxReplicas: record.maxReplicas,
    network: record.network,
    concurrency: record.concurrency,
    version: record.version,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    envVars: record.envVars,
    codeHash: record.codeHash,
  };
}

export function toVersionInfo(version: FunctionVersionRecord): controlPlane.FunctionVersionInfo {
  return {
    version: version.version,
    codeHash: version.codeHash,
    sizeBytes: version.sizeBytes,
    createdAt: version.createdAt.toISOString(),
    handler: version.handler,
    aliases: version.aliases,
  };
}

export function toAliasSpec(request: controlPlane.SetAliasRequest): AliasSpec {
  return {
    functionName: request.function,
    name: request.name,
    version: request.version,
    canaryVersion: request.canaryVersion,
    canaryWeight: request.canaryWeight,
    description: request.description,
  };
}

export function toAliasInfo(alias: AliasRecord): controlPlane.AliasInfo {
  return {
    function: alias.functionName,
    name: alias.name,
    version: alias.version,
    canaryVersion: alias.canaryVersion,
    canaryWeight: alias.canaryWeight,
    description: alias.description,
    createdAt: alias.createdAt.toISOString(),
    updatedAt: alias.updatedAt.toISOString(),
  };
}

export function toRuntimeInfo(runtime: RuntimeDescriptor): controlPlane.RuntimeInfo {
  return {
    id: runtime.id,
    name: runtime.name,
    version: runtime.version,
    imageName: '',
    entrypoint: [...runtime.entrypoint],
  };
}
