import {
  createAgentRegistryClient,
  createAgentServiceClient,
  createTaskWorkerClient,
  createToolServiceClient,
  type AgentServicePromiseClient,
  type ClosableClient,
  type PromiseClient,
} from '#proto/client';
import type { agentPlatform, agentRegistry } from '#proto';
import { translated } from './errors.js';
import { streamed } from './streamed.js';
import { connectionOf, type ClientOptions } from './connection.js';

/** What backs an agent, tool or worker: a Nova function, or external endpoints serving the same agentplatform service. */
export type Backing = { function: string } | { endpoints: string[] };

export interface ParameterInfo {
  name: string;
  type: string;
  required: boolean;
  description: string;
}

interface CommonInfo {
  name?: string;
  description?: string;
  detailedDescription?: string;
  howItWorks?: string;
  returnFormat?: string;
  useCases?: string[];
  version?: string;
}

export interface AgentSpec extends CommonInfo {
  capabilities?: string[];
}

export interface ToolSpec extends CommonInfo {
  parameters?: ParameterInfo[];
}

export interface WorkerSpec extends CommonInfo {
  tags?: string[];
  parameters?: ParameterInfo[];
}

export interface Registration {
  serviceId: string;
  /** "agent created", "tool updated", ... */
  message: string;
}

export interface RegisteredService {
  kind: string;
  id: string;
  serviceId: string;
  name: string;
  backends: { target: string; status: string }[];
  updatedAt: string;
}

export interface TaskOptions {
  taskId?: string;
  parameters?: Record<string, string>;
  toolIds?: string[];
  sessionId?: string;
  /** Milliseconds. */
  timeoutMs?: number;
}

export interface TaskResult {
  taskId: string;
  output: string;
  success: boolean;
  error: string;
  metadata: Record<string, string>;
  sessionId: string;
}

export interface TaskChunk {
  taskId: string;
  content: string;
  isFinal: boolean;
  sessionId: string;
}

export interface ToolResult {
  success: boolean;
  result: string;
  error: string;
  sessionId: string;
}

function endpointOf(backing: Backing): string {
  return 'function' in backing ? `function:${backing.function}` : backing.endpoints.join(',');
}

function common(spec: CommonInfo): Omit<agentPlatform.AgentInfo, 'agentId' | 'capabilities' | 'endpoint'> {
  return {
    name: spec.name ?? '',
    description: spec.description ?? '',
    detailedDescription: spec.detailedDescription ?? '',
    howItWorks: spec.howItWorks ?? '',
    returnFormat: spec.returnFormat ?? '',
    useCases: spec.useCases ?? [],
    version: spec.version ?? '',
  };
}

function taskRequest(agentId: string, input: string, options: TaskOptions): agentPlatform.TaskRequest {
  return {
    taskId: options.taskId ?? '',
    agentId,
    input,
    parameters: options.parameters ?? {},
    toolIds: options.toolIds ?? [],
    sessionId: options.sessionId ?? '',
  };
}

/**
 * The agent platform for TypeScript: agentplatform's AgentService,
 * ToolService and TaskWorker, and Nova's registry of agents, tools and
 * workers (nova.v1.AgentRegistry). Ids work both ways round ("echo-agent"
 * and "agent-echo").
 */
export class Agents {
  private readonly agents: AgentServicePromiseClient;
  private readonly tools: PromiseClient<agentPlatform.ToolServiceClient> & ClosableClient;
  private readonly workers: PromiseClient<agentPlatform.TaskWorkerClient> & ClosableClient;
  private readonly registry: PromiseClient<agentRegistry.AgentRegistryClient> & ClosableClient;

  constructor(options: ClientOptions) {
    const connection = connectionOf(options);
    this.agents = createAgentServiceClient(connection);
    this.tools = createToolServiceClient(connection);
    this.workers = createTaskWorkerClient(connection);
    this.registry = createAgentRegistryClient(connection);
  }

  async registerAgent(id: string, backing: Backing, spec: AgentSpec = {}): Promise<Registration> {
    return translated(() =>
      this.agents.registerAgent({
        agentId: id,
        endpoint: endpointOf(backing),
        capabilities: spec.capabilities ?? [],
        ...common(spec),
      }),
    );
  }

  async registerTool(id: string, backing: Backing, spec: ToolSpec = {}): Promise<Registration> {
    return translated(() =>
      this.tools.registerTool({
        toolId: id,
        endpoint: endpointOf(backing),
        parameters: spec.parameters ?? [],
        ...common(spec),
      }),
    );
  }

  async registerWorker(id: string, backing: Backing, spec: WorkerSpec = {}): Promise<Registration> {
    return translated(() =>
      this.registry.registerWorker({
        workerId: id,
        endpoint: endpointOf(backing),
        tags: spec.tags ?? [],
        parameters: spec.parameters ?? [],
        ...common(spec),
      }),
    );
  }

  async unregister(kind: 'agent' | 'tool' | 'worker', id: string): Promise<void> {
    await translated(() => this.registry.unregister({ kind, id }));
  }

  /** Everything registered (or one kind), with each backend's health as the serving process sees it. */
  async listRegistered(kind: '' | 'agent' | 'tool' | 'worker' = ''): Promise<RegisteredService[]> {
    return (await translated(() => this.registry.listRegistered({ kind }))).services;
  }

  async executeTask(agentId: string, input: string, options: TaskOptions = {}): Promise<TaskResult> {
    return translated(() =>
      this.agents.executeTask(taskRequest(agentId, input, options), {
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      }),
    );
  }

  async *streamTask(agentId: string, input: string, options: TaskOptions = {}): AsyncGenerator<TaskChunk> {
    yield* streamed(
      this.agents.streamTask(taskRequest(agentId, input, options), {
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      }),
      undefined,
    );
  }

  async executeTool(
    toolId: string,
    operation: string,
    parameters: Record<string, string> = {},
    options: { sessionId?: string } = {},
  ): Promise<ToolResult> {
    return translated(() =>
      this.tools.executeTool({ toolId, operation, parameters, sessionId: options.sessionId ?? '' }),
    );
  }

  /** Runs the task durably on the worker and waits for its end (within timeoutMs, when given). */
  async processTask(workerId: string, input: string, options: TaskOptions = {}): Promise<TaskResult> {
    return translated(() =>
      this.workers.processTask(taskRequest(workerId, input, options), {
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      }),
    );
  }

  close(): void {
    this.agents.close();
    this.tools.close();
    this.workers.close();
    this.registry.close();
  }
}
