import { protoFiles, serviceNames } from '#proto';
import type { PlaneDefinition } from '#server';
import { ControlPlaneModule } from './control-plane.module.js';

export const controlPlaneDefinition: PlaneDefinition = {
  name: 'control-plane',
  module: ControlPlaneModule,
  protoFiles: [protoFiles.controlPlane, protoFiles.keyAdmin],
  packages: ['nova.v1'],
  usesDatabase: true,
  services: [serviceNames.controlPlane, serviceNames.keyAdmin],
};
