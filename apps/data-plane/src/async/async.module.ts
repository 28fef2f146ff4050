import { Module } from '@nestjs/common';
import { FunctionsModule } from '../functions/functions.module.js';
import { InvokeModule } from '../invoke/invoke.module.js';
import { AsyncInvocationsService } from './async-invocations.service.js';
import { AsyncWorker } from './async-worker.js';
import { AsyncMetrics } from './async-metrics.js';

/** InvokeAsync: the durable queue's producer and this node's workers. */
@Module({
  imports: [FunctionsModule, InvokeModule],
  providers: [AsyncInvocationsService, AsyncWorker, AsyncMetrics],
  exports: [AsyncInvocationsService],
})
export class AsyncModule {}
