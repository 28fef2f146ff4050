import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CLUSTER_PLANES, NodeMembership } from './node-membership.js';

/** Makes this process a node of the cluster, for the planes that join one (control and data plane). */
@Global()
@Module({})
export class ClusterMembershipModule {
  static forPlanes(planes: string[]): DynamicModule {
    return {
      module: ClusterMembershipModule,
      providers: [{ provide: CLUSTER_PLANES, useValue: planes }, NodeMembership],
      exports: [NodeMembership],
    };
  }
}
