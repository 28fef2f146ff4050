import { Module } from '@nestjs/common';
import { HealthModule } from './health/health.module.js';

/** nova.v1.DataPlane: invocation, history, metrics, node health. */
@Module({ imports: [HealthModule] })
export class DataPlaneModule {}
