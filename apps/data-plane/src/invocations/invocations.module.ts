import { Module } from '@nestjs/common';
import { FunctionsModule } from '../functions/functions.module.js';
import { InvocationRecorder } from './invocation-recorder.js';
import { InvocationsService } from './invocations.service.js';
import { LiveInvocationLogs } from './live-invocation-logs.js';

/** Invocation history: recorded off the hot path, read with paging and metrics, followed live. */
@Module({
  imports: [FunctionsModule],
  providers: [InvocationRecorder, InvocationsService, LiveInvocationLogs],
  exports: [InvocationRecorder, InvocationsService, LiveInvocationLogs],
})
export class InvocationsModule {}
