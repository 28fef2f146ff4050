import type { Metadata } from '@grpc/grpc-js';
import type { agentPlatform, agentRegistry } from '#proto';
import { deadlineOf, requestIdOf } from '#server';
import type { Backend, Registered } from './agent-directory.js';
import { serviceIdOf } from './agent-ids.js';
import type { CallContext } from './agent-platform.types.js';

export function contextOf(metadata: Metadata, call: { getDeadline(): Date | number }): CallContext {
  const authorization = metadata.get('authorization')[0];
  return {
    requestId: requestIdOf(metadata),
    deadline: deadlineOf(call),
    authorization: typeof authorization === 'string' ? authorization : '',
  };
}

/** What RegisterAgent, RegisterTool and RegisterWorker store: the info without the endpoint, which is kept as backends. */
export function storedInfoOf(info: { endpoint: string }): Record<string, unknown> {
  const { endpoint: _endpoint, ...rest } = info;
  return rest;
}

/** The info as registered, with endpoint showing what backs it. */
function withEndpoint(entry: Registered): Record<string, unknown> {
  return { ...entry.info, endpoint: entry.backends.join(',') };
}

export function toAgentInfo(entry: Registered): agentPlatform.AgentInfo {
  const info = withEndpoint(entry);
  return {
    agentId: entry.id,
    name: str(info['name']),
    description: str(info['description']),
    capabilities: strings(info['capabilities']),
    endpoint: str(info['endpoint']),
    detailedDescription: str(info['detailedDescription']),
    howItWorks: str(info['howItWorks']),
    returnFormat: str(info['returnFormat']),
    useCases: strings(info['useCases']),
    version: str(info['version']),
  };
}

export function toToolInfo(entry: Registered): agentPlatform.ToolInfo {
  const info = withEndpoint(entry);
  return {
    toolId: entry.id,
    name: str(info['name']),
    description: str(info['description']),
    endpoint: str(info['endpoint']),
    parameters: parameters(info['parameters']),
    detailedDescription: str(info['detailedDescription']),
    howItWorks: str(info['howItWorks']),
    returnFormat: str(info['returnFormat']),
    useCases: strings(info['useCases']),
    version: str(info['version']),
  };
}

export function toWorkerInfo(entry: Registered): agentPlatform.WorkerInfo {
  const info = withEndpoint(entry);
  return {
    workerId: entry.id,
    name: str(info['name']),
    description: str(info['description']),
    endpoint: str(info['endpoint']),
    tags: strings(info['tags']),
    detailedDescription: str(info['detailedDescription']),
    howItWorks: str(info['howItWorks']),
    returnFormat: str(info['returnFormat']),
    useCases: strings(info['useCases']),
    version: str(info['version']),
    parameters: parameters(info['parameters']),
  };
}

export function toRegisteredService(
  entry: Registered,
  statusOf: (backend: Backend) => string,
): agentRegistry.RegisteredService {
  return {
    kind: entry.kind,
    id: entry.id,
    serviceId: serviceIdOf(entry.kind, entry.id),
    name: str(entry.info['name']),
    backends: entry.parsedBackends.map((backend) => ({ target: backend.target, status: statusOf(backend) })),
    updatedAt: entry.updatedAt.toISOString(),
  };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function parameters(value: unknown): agentPlatform.ToolParameter[] {
  if (!Array.isArray(value)) return [];
  return value.map((item: Record<string, unknown>) => ({
    name: str(item['name']),
    type: str(item['type']),
    required: item['required'] === true,
    description: str(item['description']),
  }));
}
