import { Module } from '@nestjs/common';
import { FunctionsModule } from '../functions/functions.module.js';
import { InvocationRecorder } from './invocation-recorder.js';
import { InvocationsService } from './invocations.service.js';

/** Invocation history: recorded off the hot path, read with paging and metrics. */
@Module({
  imports: [FunctionsModule],
  providers: [InvocationRecorder, InvocationsService],
  exports: [InvocationRecorder, InvocationsService],
})
export class InvocationsModule {}
