import { Global, Module } from '@nestjs/common';
import { FunctionInvoker } from '#server';
import { AsyncModule } from '../async/async.module.js';
import { InvocationsModule } from '../invocations/invocations.module.js';
import { InvokeModule } from '../invoke/invoke.module.js';
import { InProcessFunctionInvoker } from './in-process-function-invoker.js';

/** This node's functions for the rest of the process (the agent platform in unified mode). */
@Global()
@Module({
  imports: [InvokeModule, AsyncModule, InvocationsModule],
  providers: [{ provide: FunctionInvoker, useClass: InProcessFunctionInvoker }],
  exports: [FunctionInvoker],
})
export class InProcessModule {}
