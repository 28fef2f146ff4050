import { Injectable } from '@nestjs/common';
import { NodesRepository, type NodeRecord, type NodeStatus } from '#storage';
import { InvalidArgumentError, raise } from '#server';
import { clusterErrors } from './cluster.errors.js';

const statuses: readonly NodeStatus[] = ['live', 'draining', 'dead', 'static'];
const planes = ['control-plane', 'data-plane'] as const;

export interface NodeFilter {
  plane?: string;
  status?: string;
}

/** The cluster's nodes as operators see and manage them (nova.v1.Cluster). */
@Injectable()
export class ClusterService {
  constructor(private readonly nodes: NodesRepository) {}

  async list(filter: NodeFilter): Promise<NodeRecord[]> {
    if (filter.plane && !(planes as readonly string[]).includes(filter.plane)) {
      throw new InvalidArgumentError('plane', `must be one of ${planes.join(', ')} (or empty for all)`);
    }
    if (filter.status && !(statuses as readonly string[]).includes(filter.status)) {
      throw new InvalidArgumentError('status', `must be one of ${statuses.join(', ')} (or empty for all)`);
    }
    return (await this.nodes.list()).filter(
      (node) =>
        (!filter.plane || node.planes.includes(filter.plane)) && (!filter.status || node.status === filter.status),
    );
  }

  async get(id: string): Promise<NodeRecord> {
    return (await this.nodes.get(checkedId(id))) ?? raise(clusterErrors.nodeNotFound(id));
  }

  async drain(id: string): Promise<NodeRecord> {
    return (await this.nodes.drain(checkedId(id))) ?? raise(clusterErrors.nodeNotFound(id));
  }

  async remove(id: string): Promise<void> {
    const outcome = await this.nodes.remove(checkedId(id));
    if (outcome === 'unknown') throw clusterErrors.nodeNotFound(id);
    if (outcome === 'alive') throw clusterErrors.nodeAlive(id);
  }
}

function checkedId(id: string): string {
  if (id.trim() === '') throw new InvalidArgumentError('id', 'is required');
  return id;
}
