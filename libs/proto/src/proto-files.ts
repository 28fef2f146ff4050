import { join } from 'node:path';
import { findUpward } from './source-tree.js';

/** The directory holding the .proto sources. */
export const protoRoot = join(findUpward(import.meta.url, 'libs/proto/proto'), 'libs', 'proto', 'proto');

export const protoFiles = {
  controlPlane: 'nova/v1/control_plane.proto',
  cluster: 'nova/v1/cluster.proto',
  dataPlane: 'nova/v1/data_plane.proto',
  keyAdmin: 'nova/v1/key_admin.proto',
  statehouse: 'statehouse/v1/statehouse.proto',
  agentPlatform: 'agentplatform/agent_platform.proto',
  agentRegistry: 'nova/v1/agent_registry.proto',
  workflows: 'nova/v1/workflows.proto',
  raftoral: 'raftoral/raftoral.proto',
} as const;

export type ProtoFile = (typeof protoFiles)[keyof typeof protoFiles] | typeof healthProtoFile;

/** The standard health service's .proto, vendored unchanged from grpc-proto. */
export const healthProtoFile = 'grpc/health/v1/health.proto';

/** Fully qualified names of the services Nova serves. */
export const serviceNames = {
  controlPlane: 'nova.v1.ControlPlane',
  cluster: 'nova.v1.Cluster',
  dataPlane: 'nova.v1.DataPlane',
  keyAdmin: 'nova.v1.KeyAdmin',
  statehouse: 'statehouse.v1.StatehouseService',
  agentService: 'agentplatform.AgentService',
  toolService: 'agentplatform.ToolService',
  taskWorker: 'agentplatform.TaskWorker',
  agentRegistry: 'nova.v1.AgentRegistry',
  workflows: 'nova.v1.Workflows',
  workflowManagement: 'raftoral.WorkflowManagement',
  raftService: 'raftoral.RaftService',
  health: 'grpc.health.v1.Health',
} as const;
