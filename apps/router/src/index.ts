import type { PlaneDefinition } from '#server';
import { RouterModule } from './router.module.js';

export const routerDefinition: PlaneDefinition = {
  name: 'router',
  module: RouterModule,
  protoFiles: [],
  packages: [],
  usesDatabase: false,
  joinsCluster: false,
  services: [],
};
