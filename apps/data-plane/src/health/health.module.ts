import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { PoolModule } from '../pool/pool.module.js';
import { SandboxModule } from '../sandbox/sandbox.module.js';
import { NodeReport } from '#server';
import { NodeHealthService } from './node-health.service.js';
import { DataPlaneNodeReport } from './data-plane-node-report.js';

/** Whether this node can do its work, for DataPlane.Health; its runtimes and load, for the cluster. */
@Module({
  imports: [RuntimesModule, PoolModule, SandboxModule],
  providers: [NodeHealthService, { provide: NodeReport, useClass: DataPlaneNodeReport }],
  exports: [NodeHealthService, NodeReport],
})
export class HealthModule {}
