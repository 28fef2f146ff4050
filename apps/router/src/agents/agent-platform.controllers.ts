import { Controller } from '@nestjs/common';
import type { Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { agentPlatform, agentRegistry } from '#proto';
import { RequiredScope } from '#server';
import { AgentPlatformService } from './agent-platform.service.js';
import {
  contextOf,
  storedInfoOf,
  toAgentInfo,
  toRegisteredService,
  toToolInfo,
  toWorkerInfo,
} from './agent-platform.convert.js';

type Unary<Req> = ServerUnaryCall<Req, unknown>;

function registered(
  kind: string,
  serviceId: string,
  outcome: 'created' | 'updated' | 'unchanged',
): agentPlatform.RegistrationResponse {
  return { success: true, message: `${kind} ${outcome}`, serviceId };
}

/** agentplatform.AgentService. Running and reading need an invoke key; registering an admin key. */
@Controller()
@RequiredScope('invoke')
@agentPlatform.AgentServiceControllerMethods()
export class AgentServiceController implements agentPlatform.AgentServiceController {
  constructor(private readonly platform: AgentPlatformService) {}

  executeTask(
    request: agentPlatform.TaskRequest,
    metadata: Metadata,
    call: Unary<agentPlatform.TaskRequest>,
  ): Promise<agentPlatform.TaskResponse> {
    return this.platform.executeTask(request, contextOf(metadata, call));
  }

  streamTask(
    request: agentPlatform.TaskRequest,
    metadata: Metadata,
    call: ServerWritableStream<agentPlatform.TaskRequest, agentPlatform.TaskChunk>,
  ): Observable<agentPlatform.TaskChunk> {
    return new Observable((subscriber) => {
      const abort = new AbortController();
      void (async () => {
        for await (const piece of this.platform.streamTask(request, contextOf(metadata, call), abort.signal)) {
          subscriber.next(piece);
        }
      })().then(
        () => subscriber.complete(),
        (error: unknown) => subscriber.error(error),
      );
      return () => abort.abort();
    });
  }

  getStatus(
    request: agentPlatform.StatusRequest,
    metadata: Metadata,
    call: Unary<agentPlatform.StatusRequest>,
  ): Promise<agentPlatform.StatusResponse> {
    return this.platform.status(request.agentId, contextOf(metadata, call));
  }

  @RequiredScope('admin')
  async registerAgent(request: agentPlatform.AgentInfo): Promise<agentPlatform.RegistrationResponse> {
    const { serviceId, outcome } = await this.platform.register(
      'agent',
      request.agentId,
      storedInfoOf(request),
      request.endpoint,
    );
    return registered('agent', serviceId, outcome);
  }

  listAgents(request: agentPlatform.ListAgentsRequest): agentPlatform.ListAgentsResponse {
    return { agents: this.platform.list('agent', request.filter).map(toAgentInfo) };
  }
}

/** agentplatform.ToolService. */
@Controller()
@RequiredScope('invoke')
@agentPlatform.ToolServiceControllerMethods()
export class ToolServiceController implements agentPlatform.ToolServiceController {
  constructor(private readonly platform: AgentPlatformService) {}

  executeTool(
    request: agentPlatform.ToolRequest,
    metadata: Metadata,
    call: Unary<agentPlatform.ToolRequest>,
  ): Promise<agentPlatform.ToolResponse> {
    return this.platform.executeTool(request, contextOf(metadata, call));
  }

  listTools(request: agentPlatform.ListToolsRequest): agentPlatform.ListToolsResponse {
    return { tools: this.platform.list('tool', request.filter).map(toToolInfo) };
  }

  @RequiredScope('admin')
  async registerTool(request: agentPlatform.ToolInfo): Promise<agentPlatform.RegistrationResponse> {
    const { serviceId, outcome } = await this.platform.register(
      'tool',
      request.toolId,
      storedInfoOf(request),
      request.endpoint,
    );
    return registered('tool', serviceId, outcome);
  }
}

/** agentplatform.TaskWorker. */
@Controller()
@RequiredScope('invoke')
@agentPlatform.TaskWorkerControllerMethods()
export class TaskWorkerController implements agentPlatform.TaskWorkerController {
  constructor(private readonly platform: AgentPlatformService) {}

  processTask(
    request: agentPlatform.TaskRequest,
    metadata: Metadata,
    call: Unary<agentPlatform.TaskRequest>,
  ): Promise<agentPlatform.TaskResponse> {
    return this.platform.processTask(request, contextOf(metadata, call));
  }

  getTaskStatus(
    request: agentPlatform.TaskStatusRequest,
    metadata: Metadata,
    call: Unary<agentPlatform.TaskStatusRequest>,
  ): Promise<agentPlatform.TaskStatusResponse> {
    return this.platform.taskStatus(request.taskId, contextOf(metadata, call));
  }

  listWorkers(request: agentPlatform.ListWorkersRequest): agentPlatform.ListWorkersResponse {
    return { workers: this.platform.list('worker', request.filter).map(toWorkerInfo) };
  }
}

/** nova.v1.AgentRegistry; admin keys only. */
@Controller()
@RequiredScope('admin')
@agentRegistry.AgentRegistryControllerMethods()
export class AgentRegistryController implements agentRegistry.AgentRegistryController {
  constructor(private readonly platform: AgentPlatformService) {}

  async registerWorker(request: agentPlatform.WorkerInfo): Promise<agentPlatform.RegistrationResponse> {
    const { serviceId, outcome } = await this.platform.register(
      'worker',
      request.workerId,
      storedInfoOf(request),
      request.endpoint,
    );
    return registered('worker', serviceId, outcome);
  }

  async unregister(request: agentRegistry.UnregisterRequest): Promise<agentRegistry.UnregisterResponse> {
    await this.platform.unregister(request.kind, request.id);
    return { success: true };
  }

  listRegistered(request: agentRegistry.ListRegisteredRequest): agentRegistry.ListRegisteredResponse {
    return {
      services: this.platform
        .listAll(request.kind)
        .map((entry) => toRegisteredService(entry, (backend) => this.platform.backendStatus(backend))),
    };
  }
}
