import { Module } from '@nestjs/common';
import { InvokeModule } from '../invoke/invoke.module.js';
import { AsyncInvocationsService } from './async-invocations.service.js';
import { AsyncWorker } from './async-worker.js';

@Module({
  imports: [InvokeModule],
  providers: [AsyncInvocationsService, AsyncWorker],
  exports: [AsyncInvocationsService],
})
export class AsyncModule {}
