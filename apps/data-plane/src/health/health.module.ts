import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { PoolModule } from '../pool/pool.module.js';
import { SandboxModule } from '../sandbox/sandbox.module.js';
import { NodeHealthService } from './node-health.service.js';

/** Whether this node can do its work, for DataPlane.Health. */
@Module({
  imports: [RuntimesModule, PoolModule, SandboxModule],
  providers: [NodeHealthService],
  exports: [NodeHealthService],
})
export class HealthModule {}
