// Everything the light entry has (clients, names, limits), and what only servers and tests need:
// loader options, reflection descriptors and the generated modules (which load Nest's microservices).
export * from './client.js';
export { protoLoaderOptions } from './loader-options.js';
export { reflectionDescriptors } from './descriptors.js';
export * as controlPlane from './generated/nova/v1/control_plane.js';
export * as cluster from './generated/nova/v1/cluster.js';
export * as agentPlatform from './generated/agentplatform/agent_platform.js';
export * as agentRegistry from './generated/nova/v1/agent_registry.js';
export * as dataPlane from './generated/nova/v1/data_plane.js';
export * as keyAdmin from './generated/nova/v1/key_admin.js';
export * as statehouse from './generated/statehouse/v1/statehouse.js';
export * as workflows from './generated/nova/v1/workflows.js';
export * as raftoral from './generated/raftoral/raftoral.js';
