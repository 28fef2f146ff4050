import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { HealthModule } from './health/health.module.js';
import { InvokeModule } from './invoke/invoke.module.js';

/** nova.v1.DataPlane: invocation, history, metrics, node health. */
@Module({ imports: [RuntimesModule, InvokeModule, HealthModule] })
export class DataPlaneModule {}
