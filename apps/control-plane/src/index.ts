import { protoFiles, serviceNames } from '#proto';
import type { PlaneDefinition } from '#server';
import { ControlPlaneModule } from './control-plane.module.js';

export const controlPlaneDefinition: PlaneDefinition = {
  name: 'control-plane',
  module: ControlPlaneModule,
  protoFiles: [protoFiles.controlPlane, protoFiles.cluster, protoFiles.keyAdmin],
  packages: ['nova.v1'],
  usesDatabase: true,
  joinsCluster: true,
  services: [serviceNames.controlPlane, serviceNames.cluster, serviceNames.keyAdmin],
};
