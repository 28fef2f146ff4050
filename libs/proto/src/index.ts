export { apiLimits, formatBytes } from './limits.js';
export { findUpward } from './source-tree.js';
export { protoLoaderOptions } from './loader-options.js';
export { reflectionDescriptors } from './descriptors.js';
export { protoFiles, protoRoot, healthProtoFile, serviceNames, type ProtoFile } from './proto-files.js';
export {
  createControlPlaneClient,
  createClusterClient,
  createAgentServiceClient,
  createToolServiceClient,
  createTaskWorkerClient,
  createAgentRegistryClient,
  type AgentServicePromiseClient,
  serviceDefinitionOf,
  createDataPlaneClient,
  createKeyAdminClient,
  createStatehouseClient,
  type StatehousePromiseClient,
  MAX_MESSAGE_BYTES,
  type PromiseClient,
  type UnaryCallOptions,
  type NovaClientOptions,
  type ClosableClient,
  type ServerStream,
  type DataPlanePromiseClient,
} from './grpc-client.js';
export * as controlPlane from './generated/nova/v1/control_plane.js';
export * as cluster from './generated/nova/v1/cluster.js';
export * as agentPlatform from './generated/agentplatform/agent_platform.js';
export * as agentRegistry from './generated/nova/v1/agent_registry.js';
export * as dataPlane from './generated/nova/v1/data_plane.js';
export * as keyAdmin from './generated/nova/v1/key_admin.js';
export * as statehouse from './generated/statehouse/v1/statehouse.js';
