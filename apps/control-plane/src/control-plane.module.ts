import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { FunctionsModule } from './functions/functions.module.js';

/** nova.v1.ControlPlane: functions, code versions, runtimes. */
@Module({ imports: [RuntimesModule, FunctionsModule] })
export class ControlPlaneModule {}
