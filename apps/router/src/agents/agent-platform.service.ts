import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitionOf, serviceNames } from '#proto';
import { FunctionInvoker, InvalidArgumentError, type FunctionOutcome } from '#server';
import { AgentRegistryRepository, type RegisteredKind } from '#storage';
import { AgentDirectory, parseBackends, type Backend, type Registered } from './agent-directory.js';
import { clientIdOf, serviceIdOf } from './agent-ids.js';
import { agentsErrors } from './agents.errors.js';
import type {
  AgentStatus,
  CallContext,
  TaskInput,
  TaskOutput,
  TaskPiece,
  TaskProgress,
  ToolInput,
  ToolOutput,
} from './agent-platform.types.js';

const agentMethods = serviceDefinitionOf(serviceNames.agentService);
const toolMethods = serviceDefinitionOf(serviceNames.toolService);
const workerMethods = serviceDefinitionOf(serviceNames.taskWorker);
/** How often ProcessTask looks at the task it waits for, at first and at most. */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 500;

type Method = ReturnType<typeof serviceDefinitionOf>[string];

/** What a function-backed agent or worker returned: a string, or {output, success, error, metadata}. */
function taskOutputOf(task: TaskInput, outcome: { output: Buffer; error: string }): TaskOutput {
  const base = { taskId: task.taskId, sessionId: task.sessionId, metadata: {} };
  if (outcome.error) return { ...base, output: '', success: false, error: outcome.error };
  const value = parsed(outcome.output);
  if (typeof value === 'string') return { ...base, output: value, success: true, error: '' };
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const shaped = value as Record<string, unknown>;
    if ('output' in shaped || 'success' in shaped || 'error' in shaped) {
      const error = typeof shaped['error'] === 'string' ? shaped['error'] : '';
      return {
        ...base,
        output: textOf(shaped['output'] ?? ''),
        success: typeof shaped['success'] === 'boolean' ? shaped['success'] : error === '',
        error,
        metadata: Object.fromEntries(
          Object.entries((shaped['metadata'] as Record<string, unknown> | undefined) ?? {}).map(([key, item]) => [
            key,
            textOf(item),
          ]),
        ),
      };
    }
  }
  return { ...base, output: textOf(value), success: true, error: '' };
}

function parsed(output: Buffer): unknown {
  const text = output.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A string as it is; anything else as its JSON. */
function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A streamed item as a chunk's content: a string as it is, the output of an {output, ...} object, else JSON. */
function contentOf(value: unknown): string {
  if (value !== null && typeof value === 'object' && 'output' in value) return textOf(value.output);
  return textOf(value);
}

function eventOf(task: TaskInput): Buffer {
  return Buffer.from(
    JSON.stringify({
      task_id: task.taskId,
      agent_id: task.agentId,
      input: task.input,
      parameters: task.parameters,
      tool_ids: task.toolIds,
      session_id: task.sessionId,
    }),
  );
}

function checkId(field: string, id: string): void {
  if (id.trim() === '') throw new InvalidArgumentError(field, 'is required');
  if (id.length > 128) throw new InvalidArgumentError(field, 'must be at most 128 characters');
}

/**
 * The agent platform (agentplatform.*): tasks and tools run on what backs
 * each id, a Nova function (invoked with the task as its event) or an
 * external endpoint serving the same service (called with the same message).
 */
@Injectable()
export class AgentPlatformService {
  constructor(
    private readonly directory: AgentDirectory,
    private readonly registry: AgentRegistryRepository,
    private readonly functions: FunctionInvoker,
  ) {}

  async register(
    kind: RegisteredKind,
    id: string,
    info: Record<string, unknown>,
    endpoint: string,
  ): Promise<{ serviceId: string; outcome: 'created' | 'updated' | 'unchanged' }> {
    checkId(`${kind}_id`, id);
    const clientId = clientIdOf(kind, id);
    const backends = parseBackends(endpoint, clientId);
    for (const backend of backends) {
      if (!backend.startsWith('function:') && !/^[\w.-]+:\d{1,5}$|^\[[\d:a-fA-F.]+\]:\d{1,5}$/.test(backend)) {
        throw new InvalidArgumentError('endpoint', `"${backend.slice(0, 80)}" is neither host:port nor function:NAME`);
      }
    }
    const outcome = await this.registry.register(kind, clientId, { ...info, [`${kind}Id`]: clientId }, backends);
    return { serviceId: serviceIdOf(kind, clientId), outcome };
  }

  async unregister(kind: string, id: string): Promise<void> {
    if (kind !== 'agent' && kind !== 'tool' && kind !== 'worker') {
      throw new InvalidArgumentError('kind', 'must be agent, tool or worker');
    }
    checkId('id', id);
    if (!(await this.registry.unregister(kind, clientIdOf(kind, id)))) throw agentsErrors.notRegistered(kind, id);
  }

  list(kind: RegisteredKind, filter: string): Registered[] {
    const wanted = filter.trim().toLowerCase();
    return this.directory
      .list(kind)
      .filter((entry) => {
        if (!wanted) return true;
        const info = entry.info;
        const labels = [
          ...((info['capabilities'] as string[] | undefined) ?? []),
          ...((info['tags'] as string[] | undefined) ?? []),
        ];
        return (
          labels.some((label) => label.toLowerCase() === wanted) ||
          entry.id.toLowerCase().includes(wanted) ||
          serviceIdOf(kind, entry.id).includes(wanted) ||
          (typeof info['name'] === 'string' && info['name'].toLowerCase().includes(wanted))
        );
      })
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  listAll(kind: string): Registered[] {
    if (kind && kind !== 'agent' && kind !== 'tool' && kind !== 'worker') {
      throw new InvalidArgumentError('kind', 'must be agent, tool, worker or empty');
    }
    return this.directory
      .all()
      .filter((entry) => !kind || entry.kind === kind)
      .sort((a, b) => (a.kind + a.id < b.kind + b.id ? -1 : 1));
  }

  backendStatus(backend: Backend): string {
    return this.directory.statusOf(backend);
  }

  async executeTask(task: TaskInput, context: CallContext): Promise<TaskOutput> {
    const agent = this.directory.require('agent', task.agentId);
    const backend = this.directory.pick(agent);
    const end = this.directory.begin(agent);
    try {
      if ('functionName' in backend) {
        return taskOutputOf(task, await this.runFunction(backend.functionName, eventOf(task), context));
      }
      return await this.callEndpoint<TaskOutput>(backend.address, agentMethods['ExecuteTask']!, task, context);
    } finally {
      end();
    }
  }

  async *streamTask(task: TaskInput, context: CallContext, signal: AbortSignal): AsyncGenerator<TaskPiece> {
    const agent = this.directory.require('agent', task.agentId);
    const backend = this.directory.pick(agent);
    const end = this.directory.begin(agent);
    try {
      if (!('functionName' in backend)) {
        yield* this.streamEndpoint(backend.address, task, context, signal);
        return;
      }
      const piece = (content: string, isFinal: boolean): TaskPiece => ({
        taskId: task.taskId,
        content,
        isFinal,
        sessionId: task.sessionId,
      });
      // One item behind, so that the last one the handler yields goes out marked final.
      let held: string | undefined;
      const items = this.functions.stream(
        {
          functionName: backend.functionName,
          payload: eventOf(task),
          correlationId: context.requestId,
          deadline: context.deadline,
          authorization: context.authorization,
        },
        signal,
      );
      for await (const item of items) {
        if (item.error) {
          if (held !== undefined) yield piece(held, false);
          held = undefined;
          yield piece(`error: ${item.error}`, true);
          return;
        }
        if (held !== undefined) yield piece(held, false);
        held = contentOf(parsed(item.data));
      }
      yield piece(held ?? '', true);
    } finally {
      end();
    }
  }

  async status(agentId: string, context: CallContext): Promise<AgentStatus> {
    const agent = this.directory.require('agent', agentId);
    const healthy = this.directory.healthy(agent);
    const own: AgentStatus = {
      agentId: agent.id,
      status: healthy ? 'healthy' : 'unhealthy',
      activeTasks: this.directory.activeTasks(agent),
      uptimeSeconds: Math.floor((Date.now() - agent.createdAt.getTime()) / 1000),
    };
    if (!healthy) return own;
    const backend = this.directory.pick(agent);
    if ('functionName' in backend) return own;
    // An external agent knows its own state best.
    const answer = await this.callEndpoint<AgentStatus>(
      backend.address,
      agentMethods['GetStatus']!,
      { agentId: agent.id },
      context,
    );
    return { ...answer, agentId: agent.id, activeTasks: Math.max(answer.activeTasks, own.activeTasks) };
  }

  async executeTool(request: ToolInput, context: CallContext): Promise<ToolOutput> {
    const tool = this.directory.require('tool', request.toolId);
    const backend = this.directory.pick(tool);
    const end = this.directory.begin(tool);
    try {
      if (!('functionName' in backend)) {
        return await this.callEndpoint<ToolOutput>(backend.address, toolMethods['ExecuteTool']!, request, context);
      }
      const event = Buffer.from(
        JSON.stringify({
          tool_id: tool.id,
          operation: request.operation,
          parameters: request.parameters,
          session_id: request.sessionId,
        }),
      );
      const outcome = await this.runFunction(backend.functionName, event, context);
      if (outcome.error) return { success: false, result: '', error: outcome.error, sessionId: request.sessionId };
      return { success: true, result: textOf(parsed(outcome.output)), error: '', sessionId: request.sessionId };
    } finally {
      end();
    }
  }

  /** Runs the task durably and waits for its end within the call's deadline (then reports it still running). */
  async processTask(task: TaskInput, context: CallContext): Promise<TaskOutput> {
    const worker = this.directory.require('worker', task.agentId);
    const backend = this.directory.pick(worker);
    const taskId = task.taskId || randomUUID();
    const withId = { ...task, taskId };
    const end = this.directory.begin(worker);
    try {
      if (!('functionName' in backend)) {
        return await this.callEndpoint<TaskOutput>(backend.address, workerMethods['ProcessTask']!, withId, context);
      }
      const queued = await this.functions.enqueue({
        functionName: backend.functionName,
        payload: eventOf(withId),
        correlationId: context.requestId,
        idempotencyKey: `task:${taskId}`,
        authorization: context.authorization,
      });
      const invocationId = await this.registry.recordTask(taskId, worker.id, queued);
      let wait = POLL_FIRST_MS;
      for (;;) {
        const state = await this.functions.invocation(invocationId, context.authorization);
        if (state.status === 'succeeded' || state.status === 'dead_letter') {
          return taskOutputOf(withId, { output: state.output, error: state.status === 'succeeded' ? '' : state.error });
        }
        if (context.deadline !== undefined && Date.now() + wait >= context.deadline) {
          return {
            taskId,
            output: '',
            success: false,
            error: `still ${state.status} at the call's deadline; GetTaskStatus("${taskId}") follows it`,
            metadata: { status: state.status },
            sessionId: task.sessionId,
          };
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, POLL_MAX_MS);
      }
    } finally {
      end();
    }
  }

  async taskStatus(taskId: string, context: CallContext): Promise<TaskProgress> {
    checkId('task_id', taskId);
    const task = await this.registry.findTask(taskId);
    if (!task) throw agentsErrors.taskNotFound(taskId);
    const state = await this.functions.invocation(task.invocationId, context.authorization);
    // An attempt that failed waits for its retry: queued again.
    const status = state.status === 'dead_letter' ? 'failed' : state.status === 'failed' ? 'queued' : state.status;
    const result =
      state.status === 'succeeded'
        ? taskOutputOf({ taskId } as TaskInput, { output: state.output, error: '' }).output
        : state.status === 'dead_letter'
          ? state.error
          : '';
    // What the worker said of its progress (context.progress), else which attempt it is on.
    const attempt = `attempt ${Math.max(state.attempts, 1)} of ${state.maxAttempts}`;
    return { taskId, status, progress: state.progress || attempt, result };
  }

  private runFunction(functionName: string, payload: Buffer, context: CallContext): Promise<FunctionOutcome> {
    return this.functions.invoke({
      functionName,
      payload,
      correlationId: context.requestId,
      deadline: context.deadline,
      authorization: context.authorization,
    });
  }

  private callEndpoint<T>(address: string, method: Method, request: object, context: CallContext): Promise<T> {
    return new Promise((resolve, reject) => {
      this.directory
        .clientFor(address)
        .makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          endpointMetadata(context),
          context.deadline === undefined ? {} : { deadline: context.deadline },
          (error, response) => (error ? reject(error) : resolve(response as T)),
        );
    });
  }

  private async *streamEndpoint(
    address: string,
    task: TaskInput,
    context: CallContext,
    signal: AbortSignal,
  ): AsyncGenerator<TaskPiece> {
    const method = agentMethods['StreamTask']!;
    const call = this.directory
      .clientFor(address)
      .makeServerStreamRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        task,
        endpointMetadata(context),
        context.deadline === undefined ? {} : { deadline: context.deadline },
      );
    const cancel = (): void => call.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for await (const piece of call as AsyncIterable<TaskPiece>) yield piece;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }
}

/** An external endpoint gets the caller's request id; never the caller's credentials for Nova. */
function endpointMetadata(context: CallContext): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (context.requestId) metadata.set('x-request-id', context.requestId);
  return metadata;
}
