import { Module } from '@nestjs/common';
import { WorkflowsModule } from '../workflows/workflows.module.js';
import { RaftoralService } from './raftoral.service.js';

/** Raftoral's management API (raftoral.WorkflowManagement, raftoral.RaftService) over workflows and membership. */
@Module({
  imports: [WorkflowsModule],
  providers: [RaftoralService],
  exports: [RaftoralService],
})
export class RaftoralModule {}
