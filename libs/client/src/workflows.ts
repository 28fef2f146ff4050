import { createWorkflowsClient, type WorkflowsPromiseClient } from '#proto/client';
import type { workflows } from '#proto';
import { translated } from './errors.js';
import { streamed } from './streamed.js';
import type { JsonValue } from './statehouse.js';
import { connectionOf, type ClientOptions } from './connection.js';

export type WorkflowStatus = 'pending' | 'running' | 'sleeping' | 'succeeded' | 'failed' | 'cancelled';

export interface WorkflowStartOptions {
  /** That function version; the one the name points at when left out. */
  version?: number;
  /** Makes the start idempotent: the same id started again is the same workflow. */
  workflowId?: string;
  /** Failed runs before the workflow fails (1 to 10; 3 when left out). */
  maxAttempts?: number;
}

export interface WorkflowStep {
  index: number;
  name: string;
  kind: 'step' | 'sleep';
  attempt: number;
  node: string;
  startedAt: string;
  /** Empty for a sleep that has not ended. */
  finishedAt: string;
  durationMs: number;
  /** The step's result; undefined for a sleep. */
  result: JsonValue | undefined;
  /** A sleep's end; empty for a step. */
  wakeAt: string;
}

export interface WorkflowInfo {
  workflowId: string;
  function: string;
  version: number;
  status: WorkflowStatus;
  ownerNode: string;
  input: JsonValue;
  /** Once succeeded. */
  result: JsonValue | undefined;
  error: string;
  attempt: number;
  maxAttempts: number;
  /** GetWorkflow's; empty in lists. */
  steps: WorkflowStep[];
  createdAt: string;
  updatedAt: string;
  finishedAt: string;
  nextRunAt: string;
}

export interface WorkflowEvent {
  id: number;
  kind: string;
  at: string;
  step: string;
  index: number;
  attempt: number;
  node: string;
  fromNode: string;
  toNode: string;
  reason: string;
  status: string;
  error: string;
  result: JsonValue | undefined;
  wakeAt: string;
  durationMs: number;
}

const parsed = (json: string): JsonValue | undefined => (json === '' ? undefined : (JSON.parse(json) as JsonValue));
const finalStatuses: readonly string[] = ['succeeded', 'failed', 'cancelled'];

function toInfo(info: workflows.WorkflowInfo): WorkflowInfo {
  return {
    ...info,
    status: info.status as WorkflowStatus,
    input: parsed(info.input) ?? null,
    result: parsed(info.result),
    steps: info.steps.map((step) => ({ ...step, kind: step.kind as 'step' | 'sleep', result: parsed(step.result) })),
  };
}

/**
 * Durable workflows (nova.v1.Workflows): start one, read it, list them,
 * cancel one, follow its events as they happen, or wait for its end.
 */
export class Workflows {
  private readonly client: WorkflowsPromiseClient;

  constructor(options: ClientOptions) {
    this.client = createWorkflowsClient(connectionOf(options));
  }

  /** Stores the workflow and answers at once with its id; `created` is false when the id named one already. */
  async start(
    functionName: string,
    input: JsonValue = null,
    options: WorkflowStartOptions = {},
  ): Promise<{ workflowId: string; status: WorkflowStatus; created: boolean }> {
    const started = await translated(() =>
      this.client.startWorkflow({
        function: functionName,
        version: options.version ?? 0,
        input: JSON.stringify(input),
        workflowId: options.workflowId ?? '',
        maxAttempts: options.maxAttempts ?? 0,
      }),
    );
    return { ...started, status: started.status as WorkflowStatus };
  }

  async get(workflowId: string): Promise<WorkflowInfo> {
    return toInfo((await translated(() => this.client.getWorkflow({ workflowId }))).workflow!);
  }

  /** Newest first, 50 unless limit says otherwise. */
  async list(
    filter: { function?: string; status?: WorkflowStatus; limit?: number; offset?: number } = {},
  ): Promise<{ workflows: WorkflowInfo[]; total: number }> {
    const page = await translated(() =>
      this.client.listWorkflows({
        function: filter.function ?? '',
        status: filter.status ?? '',
        limit: filter.limit ?? 0,
        offset: filter.offset ?? 0,
      }),
    );
    return { workflows: page.workflows.map(toInfo), total: page.total };
  }

  /** Ends the workflow unless it has ended; answers its status. */
  async cancel(workflowId: string): Promise<WorkflowStatus> {
    return (await translated(() => this.client.cancelWorkflow({ workflowId }))).status as WorkflowStatus;
  }

  /** Its events from the start, then as they happen, until its workflow_end. */
  async *watch(workflowId: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<WorkflowEvent> {
    for await (const event of streamed(this.client.watchWorkflow({ workflowId }), options.signal)) {
      yield { ...event, result: parsed(event.result) };
    }
  }

  /** The workflow once it has ended (followed by its events, not polled). */
  async waitForEnd(workflowId: string, options: { signal?: AbortSignal } = {}): Promise<WorkflowInfo> {
    for await (const event of this.watch(workflowId, options)) {
      if (event.kind === 'workflow_end') break;
    }
    const workflow = await this.get(workflowId);
    if (!finalStatuses.includes(workflow.status) && !options.signal?.aborted) {
      throw new Error(`workflow ${workflowId} is still ${workflow.status}: its watch ended early`);
    }
    return workflow;
  }

  close(): void {
    this.client.close();
  }
}
