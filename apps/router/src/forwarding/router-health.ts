import { Injectable } from '@nestjs/common';
import { NodeDirectory, type RoutedNode } from '../nodes/node-directory.js';

export interface RouterHealth {
  status: 'healthy' | 'unhealthy';
  components: Record<string, string>;
}

/** DataPlane.Health as a router answers it: the nodes it knows and whether it can reach them. */
@Injectable()
export class RouterHealthReport {
  constructor(private readonly directory: NodeDirectory) {}

  report(): RouterHealth {
    const components: Record<string, string> = {};
    for (const node of this.directory.all()) components[`node.${node.id}`] = this.describe(node);
    const reachable = this.directory.routable('data-plane').length;
    components['router'] = `${reachable} data-plane node${reachable === 1 ? '' : 's'} routable`;
    return { status: reachable > 0 ? 'healthy' : 'unhealthy', components };
  }

  private describe(node: RoutedNode): string {
    const where = `${node.address}, ${node.planes.join('+')}`;
    if (!this.directory.isAlive(node)) {
      const silent = Number.isFinite(node.heardAt)
        ? `${((performance.now() - node.heardAt) / 1000).toFixed(1)} s`
        : 'long';
      return `dead: no heartbeat for ${silent} (${where})`;
    }
    if (node.ejected)
      return `ejected: ${node.failures} calls failed in a row; back after a heartbeat and a health check (${where})`;
    if (node.draining) return `draining (${where})`;
    return `live (${where})`;
  }
}
