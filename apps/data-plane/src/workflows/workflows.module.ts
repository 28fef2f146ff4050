import { Module } from '@nestjs/common';
import { FunctionsModule } from '../functions/functions.module.js';
import { InvokeModule } from '../invoke/invoke.module.js';
import { WorkflowWorker } from './workflow-worker.js';
import { WorkflowsService } from './workflows.service.js';

/** Durable workflows: starting and following them (WorkflowsService) and running them on this node (WorkflowWorker). */
@Module({
  imports: [FunctionsModule, InvokeModule],
  providers: [WorkflowsService, WorkflowWorker],
  exports: [WorkflowsService],
})
export class WorkflowsModule {}
