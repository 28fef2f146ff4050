import { controlPlaneDefinition } from '#control-plane';
import { dataPlaneDefinition } from '#data-plane';
import { routerDefinition, unifiedRouterDefinition } from '#router';
import type { GrpcMode, PlaneDefinition } from '#server';

/** Which planes a mode serves; unified serves them all on one port. */
export function planesFor(mode: string): PlaneDefinition[] {
  switch (mode as GrpcMode) {
    case 'unified':
      return [controlPlaneDefinition, dataPlaneDefinition, unifiedRouterDefinition];
    case 'controlplane':
      return [controlPlaneDefinition];
    case 'dataplane':
      return [dataPlaneDefinition];
    case 'router':
      return [routerDefinition];
  }
}
