import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { AsyncModule } from './async/async.module.js';
import { DataPlaneController } from './data-plane.controller.js';
import { HealthModule } from './health/health.module.js';
import { InvocationsModule } from './invocations/invocations.module.js';
import { InvokeModule } from './invoke/invoke.module.js';
import { InProcessModule } from './in-process/in-process.module.js';
import { StateModule } from './state/state.module.js';
import { WorkflowsModule } from './workflows/workflows.module.js';
import { WorkflowsController } from './workflows/workflows.controller.js';
import { RaftoralModule } from './raftoral/raftoral.module.js';
import { WorkflowManagementController } from './raftoral/workflow-management.controller.js';
import { RaftServiceController } from './raftoral/raft-service.controller.js';

/**
 * nova.v1.DataPlane (invocation, history, metrics, node health),
 * statehouse.v1 (state), nova.v1.Workflows and raftoral.* (workflows).
 */
@Module({
  imports: [
    RuntimesModule,
    InvokeModule,
    AsyncModule,
    InvocationsModule,
    HealthModule,
    StateModule,
    InProcessModule,
    WorkflowsModule,
    RaftoralModule,
  ],
  controllers: [DataPlaneController, WorkflowsController, WorkflowManagementController, RaftServiceController],
})
export class DataPlaneModule {}
