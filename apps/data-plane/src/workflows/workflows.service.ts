import { randomUUID } from 'node:crypto';
import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  NotificationListener,
  WorkflowsRepository,
  finalWorkflowStatuses,
  notifyChannels,
  workflowStatuses,
  type WorkflowEventRecord,
  type WorkflowRecord,
  type WorkflowStatus,
  type WorkflowStepRecord,
} from '#storage';
import { InvalidArgumentError, checkListPage, raise } from '#server';
import { apiLimits } from '#proto';
import { FunctionCatalog } from '../functions/function-catalog.js';
import {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_MAX_MS,
  checkMaxAttempts,
} from '../async/async-invocations.service.js';
import { workflowErrors } from './workflows.errors.js';

const WORKFLOW_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** How often a watcher or waiter reads again without a notification (one may be lost in a reconnect). */
const RECHECK_MS = 2000;

/** A workflow as its caller starts it; zeros mean the defaults. */
export interface WorkflowStart {
  /** "name" or "name:qualifier", as for Invoke. */
  functionName: string;
  /** 0: the one functionName names. */
  version: number;
  /** JSON; empty is null. */
  input: string;
  /** Empty: a new UUID. */
  workflowId: string;
  maxAttempts: number;
  correlationId: string;
}

export interface WorkflowDetail {
  workflow: WorkflowRecord;
  steps: WorkflowStepRecord[];
}

export const isFinal = (status: WorkflowStatus): boolean => finalWorkflowStatuses.includes(status);

/** Starting, reading, cancelling and following workflows (nova.v1.Workflows and Raftoral's management API). */
@Injectable()
export class WorkflowsService implements OnApplicationBootstrap, OnApplicationShutdown {
  /** Who waits for news of which workflow. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly repository: WorkflowsRepository,
    private readonly catalog: FunctionCatalog,
    private readonly listener: NotificationListener,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.unsubscribe = await this.listener.subscribe(notifyChannels.workflowEvents, (id) => this.notify(id));
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    for (const id of [...this.waiters.keys()]) this.notify(id);
  }

  async start(start: WorkflowStart): Promise<{ workflow: WorkflowRecord; created: boolean }> {
    if (start.functionName === '') throw new InvalidArgumentError('function', 'is required');
    const id = start.workflowId === '' ? randomUUID() : start.workflowId;
    if (!WORKFLOW_ID.test(id)) {
      throw new InvalidArgumentError(
        'workflow_id',
        "must be 1 to 128 letters, digits, '-', '_', '.' or ':' (or empty for a new UUID)",
      );
    }
    const input = start.input.trim() === '' ? 'null' : start.input;
    if (Buffer.byteLength(input) > apiLimits.payloadBytes) {
      throw new InvalidArgumentError('input', `is over ${apiLimits.payloadBytes} bytes`);
    }
    try {
      JSON.parse(input);
    } catch {
      throw new InvalidArgumentError('input', 'must be JSON');
    }
    const maxAttempts = checkMaxAttempts(start.maxAttempts);
    const record = await this.catalog.resolve(start.functionName, start.version);
    if (record.runtime === 'wasm') throw workflowErrors.runtimeCannotCheckpoint(record.name, record.runtime);
    const { record: workflow, created } = await this.repository.start({
      id,
      functionName: record.name,
      functionVersion: record.version,
      input,
      maxAttempts,
      backoffBaseMs: DEFAULT_BACKOFF_BASE_MS,
      backoffMaxMs: DEFAULT_BACKOFF_MAX_MS,
      correlationId: start.correlationId,
    });
    if (!created && workflow.functionName !== record.name) throw workflowErrors.idTaken(id, workflow.functionName);
    return { workflow, created };
  }

  async get(id: string): Promise<WorkflowDetail> {
    const workflow = await this.require(id);
    return { workflow, steps: await this.repository.steps(id) };
  }

  async list(filter: {
    functionName: string;
    status: string;
    limit: number;
    offset: number;
  }): Promise<{ workflows: WorkflowRecord[]; total: number }> {
    if (filter.status !== '' && !(workflowStatuses as readonly string[]).includes(filter.status)) {
      throw new InvalidArgumentError('status', `must be one of ${workflowStatuses.join(', ')} (or empty for all)`);
    }
    const page = checkListPage(filter.limit, filter.offset, { default: 50, max: 1000 });
    return this.repository.list({
      ...page,
      ...(filter.functionName ? { functionName: filter.functionName } : {}),
      ...(filter.status ? { status: filter.status as WorkflowStatus } : {}),
    });
  }

  async cancel(id: string): Promise<WorkflowRecord> {
    if (id === '') throw new InvalidArgumentError('workflow_id', 'is required');
    return (await this.repository.cancel(id)) ?? raise(workflowErrors.notFound(id));
  }

  /** The workflow once it has ended, or as it is when `timeoutMs` runs out (or `signal` aborts). */
  async waitForEnd(id: string, timeoutMs: number, signal?: AbortSignal): Promise<WorkflowRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const news = this.nextNews(id);
      const workflow = await this.require(id);
      if (isFinal(workflow.status) || Date.now() >= deadline || signal?.aborted) {
        news.cancel();
        return workflow;
      }
      await news.wait(Math.min(RECHECK_MS, deadline - Date.now()), signal);
    }
  }

  /**
   * Hands over the workflow's events in order, from its first, as they
   * happen, until its workflow_end has been handed over or `signal` aborts.
   */
  async watch(
    id: string,
    onEvent: (event: WorkflowEventRecord) => void | Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    await this.require(id);
    let after = 0;
    while (!signal.aborted) {
      const news = this.nextNews(id);
      const events = await this.repository.events(id, after);
      for (const event of events) {
        await onEvent(event);
        after = event.id;
        if (event.kind === 'workflow_end') {
          news.cancel();
          return;
        }
      }
      if (events.length > 0) {
        news.cancel();
        continue;
      }
      await news.wait(RECHECK_MS, signal);
    }
  }

  private async require(id: string): Promise<WorkflowRecord> {
    if (id === '') throw new InvalidArgumentError('workflow_id', 'is required');
    return (await this.repository.get(id)) ?? raise(workflowErrors.notFound(id));
  }

  /** A promise of the next event of `id`, registered before reading so that nothing falls between. */
  private nextNews(id: string): { wait(ms: number, signal?: AbortSignal): Promise<void>; cancel(): void } {
    let heard!: () => void;
    const arrived = new Promise<void>((resolve) => (heard = resolve));
    const waiting = this.waiters.get(id) ?? new Set();
    this.waiters.set(id, waiting);
    waiting.add(heard);
    const cancel = (): void => {
      waiting.delete(heard);
      if (waiting.size === 0 && this.waiters.get(id) === waiting) this.waiters.delete(id);
    };
    return {
      cancel,
      wait: async (ms, signal) => {
        let timer: NodeJS.Timeout | undefined;
        const onAbort = (): void => heard();
        signal?.addEventListener('abort', onAbort, { once: true });
        try {
          await Promise.race([arrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
        } finally {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          cancel();
        }
      },
    };
  }

  private notify(id: string): void {
    const waiting = this.waiters.get(id);
    if (!waiting) return;
    this.waiters.delete(id);
    for (const heard of waiting) heard();
  }
}
