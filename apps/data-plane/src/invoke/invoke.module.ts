import { Module } from '@nestjs/common';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRecorder } from '../invocations/invocation-recorder.js';
import { InvocationsService } from '../invocations/invocations.service.js';
import { InstancePoolService } from '../pool/instance-pool.service.js';
import { InvocationRunner } from './invocation-runner.js';
import { InvokeService } from './invoke.service.js';

/** Running functions: definitions, instances, the runner, sync and streaming calls, history. */
@Module({
  providers: [
    FunctionCatalog,
    InstancePoolService,
    InvocationRecorder,
    InvocationsService,
    InvocationRunner,
    InvokeService,
  ],
  exports: [FunctionCatalog, InstancePoolService, InvocationRunner, InvocationsService, InvokeService],
})
export class InvokeModule {}
