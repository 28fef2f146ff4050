import type { cluster } from '#proto';
import type { NodeRecord } from '#storage';

export function toNodeInfo(node: NodeRecord): cluster.NodeInfo {
  return {
    id: node.id,
    address: node.address,
    planes: node.planes,
    runtimes: node.runtimes,
    capacity: node.capacity,
    status: node.status,
    version: node.version,
    heartbeatMs: node.heartbeatMs,
    startedAt: node.startedAt.toISOString(),
    heartbeatAt: node.heartbeatAt.toISOString(),
    inFlight: node.inFlight,
    warmInstances: node.warmInstances,
  };
}
