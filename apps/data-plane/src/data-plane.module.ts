import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { AsyncModule } from './async/async.module.js';
import { DataPlaneController } from './data-plane.controller.js';
import { HealthModule } from './health/health.module.js';
import { InvocationsModule } from './invocations/invocations.module.js';
import { InvokeModule } from './invoke/invoke.module.js';
import { InProcessModule } from './in-process/in-process.module.js';
import { StateModule } from './state/state.module.js';

/** nova.v1.DataPlane (invocation, history, metrics, node health) and statehouse.v1 (state). */
@Module({
  imports: [RuntimesModule, InvokeModule, AsyncModule, InvocationsModule, HealthModule, StateModule, InProcessModule],
  controllers: [DataPlaneController],
})
export class DataPlaneModule {}
