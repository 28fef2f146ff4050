import { controlPlaneDefinition } from '#control-plane';
import { dataPlaneDefinition } from '#data-plane';
import { routerDefinition, unifiedRouterDefinition, workersFrontDefinition } from '#router';
import type { NovaConfig, PlaneDefinition } from '#server';

/**
 * Which planes a mode serves; unified serves them all on one port. With
 * --workers N (N > 1) the data plane runs in N worker processes instead, and
 * a unified daemon's own process routes to them.
 */
export function planesFor(config: NovaConfig): PlaneDefinition[] {
  switch (config.grpc.mode) {
    case 'unified':
      return config.cluster.workers > 1
        ? [controlPlaneDefinition, workersFrontDefinition]
        : [controlPlaneDefinition, dataPlaneDefinition, unifiedRouterDefinition];
    case 'controlplane':
      return [controlPlaneDefinition];
    case 'dataplane':
      return [dataPlaneDefinition];
    case 'router':
      return [routerDefinition];
  }
}
