import { Controller } from '@nestjs/common';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { raftoral } from '#proto';
import { RequiredScope, deadlineOf, requestIdOf } from '#server';
import { EXECUTION_CLUSTER_ID, RaftoralService } from './raftoral.service.js';

/** A signal that aborts when the client cancels the call (or its deadline passes). */
function cancelledSignal(call: ServerUnaryCall<unknown, unknown>): AbortSignal {
  const abort = new AbortController();
  call.once('cancelled', () => abort.abort());
  return abort.signal;
}

/** raftoral.WorkflowManagement (seed 003) over Nova's workflows. */
@Controller()
@RequiredScope('invoke')
@raftoral.WorkflowManagementControllerMethods()
export class WorkflowManagementController implements raftoral.WorkflowManagementController {
  constructor(private readonly raftoralService: RaftoralService) {}

  async runWorkflowSync(
    request: raftoral.RunWorkflowRequest,
    metadata: Metadata,
    call: ServerUnaryCall<raftoral.RunWorkflowRequest, raftoral.RunWorkflowResponse>,
  ): Promise<raftoral.RunWorkflowResponse> {
    return this.raftoralService.runSync(request, requestIdOf(metadata), deadlineOf(call), cancelledSignal(call));
  }

  async runWorkflowAsync(
    request: raftoral.RunWorkflowRequest,
    metadata: Metadata,
  ): Promise<raftoral.RunWorkflowAsyncResponse> {
    const { workflowId, error } = await this.raftoralService.runAsync(request, requestIdOf(metadata));
    return {
      success: error === '',
      workflowId,
      executionClusterId: error === '' ? EXECUTION_CLUSTER_ID : '',
      error,
    };
  }

  async waitForWorkflowCompletion(
    request: raftoral.WaitForWorkflowRequest,
    _metadata: Metadata,
    call: ServerUnaryCall<raftoral.WaitForWorkflowRequest, raftoral.RunWorkflowResponse>,
  ): Promise<raftoral.RunWorkflowResponse> {
    return this.raftoralService.wait(request, deadlineOf(call), cancelledSignal(call));
  }
}
