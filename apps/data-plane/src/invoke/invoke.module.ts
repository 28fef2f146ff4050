import { Module } from '@nestjs/common';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRecorder } from '../invocations/invocation-recorder.js';
import { InvocationsService } from '../invocations/invocations.service.js';
import { InstancePoolService } from '../pool/instance-pool.service.js';
import { DataPlaneController } from './data-plane.controller.js';
import { InvokeService } from './invoke.service.js';

@Module({
  controllers: [DataPlaneController],
  providers: [FunctionCatalog, InstancePoolService, InvocationRecorder, InvocationsService, InvokeService],
  exports: [InstancePoolService],
})
export class InvokeModule {}
