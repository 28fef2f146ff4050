import { protoFiles, serviceNames } from '#proto';
import type { PlaneDefinition } from '#server';
import { RouterModule, UnifiedRouterModule } from './router.module.js';
import { RouterServices } from './forwarding/router-services.js';
import { forwardedServices } from './forwarding/routes.js';

const agentPlatform = {
  protoFiles: [protoFiles.agentPlatform, protoFiles.agentRegistry],
  packages: ['agentplatform', 'nova.v1'],
  services: [serviceNames.agentService, serviceNames.toolService, serviceNames.taskWorker, serviceNames.agentRegistry],
};

/**
 * Router mode: the agent platform, and every other call forwarded to a node
 * (raw handlers, below Nest: the bytes are passed on, not decoded);
 * membership comes from the database's NOTIFY.
 */
export const routerDefinition: PlaneDefinition = {
  name: 'router',
  module: RouterModule,
  protoFiles: agentPlatform.protoFiles,
  packages: agentPlatform.packages,
  usesDatabase: true,
  joinsCluster: false,
  services: [
    serviceNames.dataPlane,
    serviceNames.statehouse,
    serviceNames.workflows,
    serviceNames.workflowManagement,
    serviceNames.raftService,
    serviceNames.controlPlane,
    serviceNames.cluster,
    serviceNames.keyAdmin,
    ...agentPlatform.services,
  ],
  rawServices: (app) => app.get(RouterServices).build(),
};

/** In unified mode the planes it fronts are in the same process: only the agent platform is the router's. */
export const unifiedRouterDefinition: PlaneDefinition = {
  name: 'router',
  module: UnifiedRouterModule,
  ...agentPlatform,
  usesDatabase: true,
  joinsCluster: false,
};

/**
 * The front process of `nova daemon --workers N` (unified mode): it serves
 * the control plane itself and forwards data-plane and state calls to its
 * local workers (and any other node on the database), in place of an
 * in-process data plane.
 */
export const workersFrontDefinition: PlaneDefinition = {
  ...routerDefinition,
  services: [
    serviceNames.dataPlane,
    serviceNames.statehouse,
    serviceNames.workflows,
    serviceNames.workflowManagement,
    serviceNames.raftService,
    ...agentPlatform.services,
  ],
  rawServices: (app) =>
    app.get(RouterServices).build(forwardedServices.filter((forwarded) => forwarded.plane === 'data-plane')),
};
