import { Module } from '@nestjs/common';
import { FunctionsModule } from '../functions/functions.module.js';
import { InvocationsModule } from '../invocations/invocations.module.js';
import { PoolModule } from '../pool/pool.module.js';
import { InvocationRunner } from './invocation-runner.js';
import { InvokeService } from './invoke.service.js';

/** Running a function: one attempt on an instance (the runner), and sync and streaming calls built on it. */
@Module({
  imports: [FunctionsModule, PoolModule, InvocationsModule],
  providers: [InvocationRunner, InvokeService],
  exports: [InvocationRunner, InvokeService],
})
export class InvokeModule {}
