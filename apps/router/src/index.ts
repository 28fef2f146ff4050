import { serviceNames } from '#proto';
import type { PlaneDefinition } from '#server';
import { RouterModule, UnifiedRouterModule } from './router.module.js';
import { RouterServices } from './forwarding/router-services.js';

/** Router mode: every call is forwarded to a node; membership comes from the database's NOTIFY. */
export const routerDefinition: PlaneDefinition = {
  name: 'router',
  module: RouterModule,
  // Loaded for reflection and the health service's list; the handlers are the raw forwarding ones.
  protoFiles: [],
  packages: [],
  usesDatabase: true,
  joinsCluster: false,
  services: [
    serviceNames.dataPlane,
    serviceNames.statehouse,
    serviceNames.controlPlane,
    serviceNames.cluster,
    serviceNames.keyAdmin,
  ],
  rawServices: (app) => app.get(RouterServices).build(),
};

/** In unified mode the planes it fronts are in the same process: nothing to forward. */
export const unifiedRouterDefinition: PlaneDefinition = {
  name: 'router',
  module: UnifiedRouterModule,
  protoFiles: [],
  packages: [],
  usesDatabase: false,
  joinsCluster: false,
  services: [],
};
