import { Module } from '@nestjs/common';
import { FunctionsModule } from './functions/functions.module.js';

/** nova.v1.ControlPlane: functions, code versions, runtimes. */
@Module({ imports: [FunctionsModule] })
export class ControlPlaneModule {}
