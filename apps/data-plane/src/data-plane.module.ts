import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { AsyncModule } from './async/async.module.js';
import { DataPlaneController } from './data-plane.controller.js';
import { HealthModule } from './health/health.module.js';
import { InvocationsModule } from './invocations/invocations.module.js';
import { InvokeModule } from './invoke/invoke.module.js';

/** nova.v1.DataPlane: invocation (sync, async, streaming), history, metrics, node health. */
@Module({
  imports: [RuntimesModule, InvokeModule, AsyncModule, InvocationsModule, HealthModule],
  controllers: [DataPlaneController],
})
export class DataPlaneModule {}
