import { Module } from '@nestjs/common';
import { FunctionsModule } from '../functions/functions.module.js';
import { InvocationsModule } from '../invocations/invocations.module.js';
import { PoolModule } from '../pool/pool.module.js';
import { StateModule } from '../state/state.module.js';
import { InvocationRunner } from './invocation-runner.js';
import { InvokeService } from './invoke.service.js';
import { InvocationMetrics } from './invocation-metrics.js';

/** Running a function: one attempt on an instance (the runner, which answers its state calls), and sync and streaming calls built on it. */
@Module({
  imports: [FunctionsModule, PoolModule, InvocationsModule, StateModule],
  providers: [InvocationRunner, InvokeService, InvocationMetrics],
  exports: [InvocationRunner, InvokeService],
})
export class InvokeModule {}
