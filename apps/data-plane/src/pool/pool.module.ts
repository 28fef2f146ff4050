import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { FunctionsModule } from '../functions/functions.module.js';
import { SandboxModule } from '../sandbox/sandbox.module.js';
import { InstanceLauncher } from './instance-launcher.js';
import { InstancePoolService } from './instance-pool.service.js';
import { IdleReaper, MemoryWatchdog } from './instance-watchdogs.js';

/** The function instances of this node: registry and caps, launcher, reaper, memory watchdog. */
@Module({
  imports: [RuntimesModule, FunctionsModule, SandboxModule],
  providers: [InstancePoolService, InstanceLauncher, IdleReaper, MemoryWatchdog],
  exports: [InstancePoolService],
})
export class PoolModule {}
