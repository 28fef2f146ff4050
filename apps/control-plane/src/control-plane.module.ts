import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { ClusterModule } from './cluster/cluster.module.js';
import { FunctionsModule } from './functions/functions.module.js';
import { KeysModule } from './keys/keys.module.js';

/**
 * nova.v1.ControlPlane (functions, code versions, aliases, runtimes), nova.v1.Cluster (nodes) and
 * nova.v1.KeyAdmin (API keys).
 */
@Module({ imports: [RuntimesModule, FunctionsModule, ClusterModule, KeysModule] })
export class ControlPlaneModule {}
