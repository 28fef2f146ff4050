import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { FunctionsModule } from './functions/functions.module.js';
import { KeysModule } from './keys/keys.module.js';

/** nova.v1.ControlPlane (functions, code versions, aliases, runtimes) and nova.v1.KeyAdmin (API keys). */
@Module({ imports: [RuntimesModule, FunctionsModule, KeysModule] })
export class ControlPlaneModule {}
