import { Controller } from '@nestjs/common';
import type { Metadata, ServerWritableStream } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { workflows } from '#proto';
import { RequiredScope, ServerStopping, requestIdOf } from '#server';
import { toWorkflowEvent, toWorkflowInfo, toWorkflowStart } from './workflows.convert.js';
import { WorkflowsService } from './workflows.service.js';

/** nova.v1.Workflows; each RPC converts its request, makes one service call, converts the answer. */
@Controller()
@RequiredScope('invoke')
@workflows.WorkflowsControllerMethods()
export class WorkflowsController implements workflows.WorkflowsController {
  constructor(
    private readonly workflowsService: WorkflowsService,
    private readonly stopping: ServerStopping,
  ) {}

  async startWorkflow(
    request: workflows.StartWorkflowRequest,
    metadata: Metadata,
  ): Promise<workflows.StartWorkflowResponse> {
    const { workflow, created } = await this.workflowsService.start(toWorkflowStart(request, requestIdOf(metadata)));
    return { workflowId: workflow.id, status: workflow.status, created };
  }

  async getWorkflow(request: workflows.GetWorkflowRequest): Promise<workflows.GetWorkflowResponse> {
    const { workflow, steps } = await this.workflowsService.get(request.workflowId);
    return { workflow: toWorkflowInfo(workflow, steps) };
  }

  async listWorkflows(request: workflows.ListWorkflowsRequest): Promise<workflows.ListWorkflowsResponse> {
    const page = await this.workflowsService.list({
      functionName: request.function,
      status: request.status,
      limit: request.limit,
      offset: request.offset,
    });
    return { workflows: page.workflows.map((workflow) => toWorkflowInfo(workflow)), total: page.total };
  }

  async cancelWorkflow(request: workflows.CancelWorkflowRequest): Promise<workflows.CancelWorkflowResponse> {
    const workflow = await this.workflowsService.cancel(request.workflowId);
    return { workflowId: workflow.id, status: workflow.status };
  }

  watchWorkflow(
    request: workflows.WatchWorkflowRequest,
    _metadata: Metadata,
    call: ServerWritableStream<workflows.WatchWorkflowRequest, workflows.WorkflowEvent>,
  ): Observable<workflows.WorkflowEvent> {
    return new Observable((subscriber) => {
      // Ends when the client cancels or the server stops.
      const abort = new AbortController();
      const stop = (): void => abort.abort();
      this.stopping.signal.addEventListener('abort', stop, { once: true });
      this.workflowsService
        .watch(
          request.workflowId,
          (event) => {
            subscriber.next(toWorkflowEvent(event));
            if (call.writableNeedDrain) return new Promise<void>((resolve) => call.once('drain', resolve));
          },
          abort.signal,
        )
        .then(
          () => subscriber.complete(),
          (error: unknown) => subscriber.error(error),
        );
      return () => {
        abort.abort();
        this.stopping.signal.removeEventListener('abort', stop);
      };
    });
  }
}
