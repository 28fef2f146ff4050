import { Controller } from '@nestjs/common';
import { cluster } from '#proto';
import { RequiredScope } from '#server';
import { ClusterService } from './cluster.service.js';
import { toNodeInfo } from './cluster.convert.js';

/** nova.v1.Cluster; admin keys only. */
@Controller()
@RequiredScope('admin')
@cluster.ClusterControllerMethods()
export class ClusterController implements cluster.ClusterController {
  constructor(private readonly cluster: ClusterService) {}

  async listNodes(request: cluster.ListNodesRequest): Promise<cluster.ListNodesResponse> {
    return { nodes: (await this.cluster.list({ plane: request.plane, status: request.status })).map(toNodeInfo) };
  }

  async getNode(request: cluster.GetNodeRequest): Promise<cluster.GetNodeResponse> {
    return { node: toNodeInfo(await this.cluster.get(request.id)) };
  }

  async drainNode(request: cluster.DrainNodeRequest): Promise<cluster.DrainNodeResponse> {
    return { node: toNodeInfo(await this.cluster.drain(request.id)) };
  }

  async removeNode(request: cluster.RemoveNodeRequest): Promise<cluster.RemoveNodeResponse> {
    await this.cluster.remove(request.id);
    return { success: true };
  }
}
