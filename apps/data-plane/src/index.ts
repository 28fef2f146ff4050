import { protoFiles, serviceNames } from '#proto';
import type { PlaneDefinition } from '#server';
import { DataPlaneModule } from './data-plane.module.js';

export const dataPlaneDefinition: PlaneDefinition = {
  name: 'data-plane',
  module: DataPlaneModule,
  protoFiles: [protoFiles.dataPlane, protoFiles.statehouse, protoFiles.workflows, protoFiles.raftoral],
  packages: ['nova.v1', 'statehouse.v1', 'raftoral'],
  usesDatabase: true,
  joinsCluster: true,
  services: [
    serviceNames.dataPlane,
    serviceNames.statehouse,
    serviceNames.workflows,
    serviceNames.workflowManagement,
    serviceNames.raftService,
  ],
};
