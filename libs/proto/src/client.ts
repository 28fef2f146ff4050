/**
 * The light entry of #proto: the promise clients, names and limits without
 * the generated modules' runtime, which loads Nest's microservices package
 * for its decorators. Clients (the SDK, the CLI) import this, so that a CLI
 * call starts in a fraction of the time; their message types come from
 * #proto as types only.
 */
export { apiLimits, formatBytes } from './limits.js';
export { findUpward } from './source-tree.js';
export { protoFiles, protoRoot, healthProtoFile, serviceNames, type ProtoFile } from './proto-files.js';
export {
  createAgentRegistryClient,
  createAgentServiceClient,
  createClusterClient,
  createControlPlaneClient,
  createDataPlaneClient,
  createKeyAdminClient,
  createStatehouseClient,
  createTaskWorkerClient,
  createToolServiceClient,
  createWorkflowsClient,
  createWorkflowManagementClient,
  createRaftServiceClient,
  createHealthClient,
  serviceDefinitionOf,
  channelCredentials,
  MAX_MESSAGE_BYTES,
  type AgentServicePromiseClient,
  type ClientTls,
  type ClosableClient,
  type HealthPromiseClient,
  type DataPlanePromiseClient,
  type NovaClientOptions,
  type PromiseClient,
  type ServerStream,
  type StatehousePromiseClient,
  type UnaryCallOptions,
  type WorkflowsPromiseClient,
} from './grpc-client.js';
