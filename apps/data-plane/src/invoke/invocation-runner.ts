import { Injectable } from '@nestjs/common';
import type { FunctionRecord } from '#storage';
import { DomainError, NovaTracing } from '#server';
import { InstancePoolService } from '../pool/instance-pool.service.js';
import { LoadFailure, type ChunkConsumer, type InvokeOutcome, type StateHandler } from '../pool/instance.js';
import type { Acquired } from '../pool/function-pool.js';
import { FunctionStateService, type FunctionStateSession } from '../state/function-state.js';
import { InvocationMetrics, outcomeOf } from './invocation-metrics.js';

/** How one attempt to run a function ended, whoever asked for it. */
export type RunResult = { durationMs: number; startedAt: Date; version: number } & (
  | { kind: 'outcome'; outcome: InvokeOutcome; coldStart: boolean; log: string; timeoutMs: number }
  /** The function's code failed to import: a function error of a cold call. */
  | { kind: 'load_failure'; error: string; log: string }
  /** No instance could be had (queue full, none free in time, runtime missing). */
  | { kind: 'rejected'; error: DomainError }
);

export interface RunOptions {
  requestId: string;
  payload: Uint8Array;
  metadata: Record<string, string>;
  /** Epoch ms by which the attempt must have finished. */
  deadline: number;
  /** Streams yielded items; without it the output comes whole. */
  onChunk?: ChunkConsumer;
  /** Lets the caller stop the attempt (a cancelled stream); the instance is replaced. */
  signal?: AbortSignal;
  /** What the handler says of its progress (context.progress); ignored when absent. */
  onProgress?: (text: string) => void;
  /**
   * A workflow's run: its id (the handler's context.workflow_id) and what
   * answers its calls, made around the call's state session.
   */
  workflow?: { id: string; handlerFor(state: FunctionStateSession): StateHandler };
  /** The caller's W3C trace context: the invocation's span is its child. */
  traceparent?: string;
}

/** Runs one attempt of a function on an instance of its pool: shared by Invoke, InvokeStream and the async workers. */
@Injectable()
export class InvocationRunner {
  constructor(
    private readonly pools: InstancePoolService,
    private readonly functionState: FunctionStateService,
    private readonly metrics: InvocationMetrics,
    private readonly tracing: NovaTracing,
  ) {}

  async run(record: FunctionRecord, options: RunOptions): Promise<RunResult> {
    const span = this.tracing.start(`invoke ${record.name}`, 'internal', options.traceparent, {
      'faas.name': record.name,
      'faas.version': String(record.version),
      'faas.invocation_id': options.requestId,
    });
    const result = await this.attempt(record, options, span?.traceparent ?? options.traceparent);
    this.metrics.finished(record.name, result);
    if (span) {
      const { error, coldStart } = summarize(result);
      span.setAttributes({ 'faas.coldstart': coldStart, 'nova.outcome': outcomeOf(result) });
      span.end(error === '' ? undefined : error);
    }
    return result;
  }

  private async attempt(
    record: FunctionRecord,
    options: RunOptions,
    traceparent: string | undefined,
  ): Promise<RunResult> {
    const started = performance.now();
    const startedAt = new Date();
    const { version } = record;
    let acquired: Acquired;
    try {
      // A warm instance comes without a promise: one microtask fewer per call.
      // A call that can be cancelled (a stream, a workflow run) is stopped by killing its instance: it gets one alone.
      const pending = this.pools.acquire(record, options.deadline, options.signal !== undefined);
      acquired = pending instanceof Promise ? await pending : pending;
    } catch (error) {
      const durationMs = performance.now() - started;
      if (error instanceof LoadFailure) {
        return { kind: 'load_failure', durationMs, startedAt, version, error: error.error, log: error.log };
      }
      if (error instanceof DomainError)
        return { kind: 'rejected', durationMs, startedAt, version, error: error as DomainError };
      throw error;
    }
    const timeoutMs = Math.max(1, options.deadline - Date.now());
    const { signal } = options;
    const abort = (): void => acquired.instance.kill();
    signal?.addEventListener('abort', abort, { once: true });
    const state = this.functionState.session(record.name, options.deadline);
    try {
      const outcome = await acquired.instance.invoke(options.requestId, options.payload, options.metadata, timeoutMs, {
        onChunk: options.onChunk,
        state: options.workflow ? options.workflow.handlerFor(state) : state,
        onProgress: options.onProgress,
        workflowId: options.workflow?.id,
        traceparent,
      });
      this.pools.release(
        record,
        acquired,
        signal?.aborted ? { kind: 'crashed', error: 'Cancelled', log: '' } : outcome,
      );
      // One literal of one shape per kind (no spreads): V8 keeps a warm call's objects on its fast paths.
      return {
        kind: 'outcome',
        durationMs: performance.now() - started,
        startedAt,
        version,
        outcome,
        coldStart: acquired.cold,
        log: acquired.cold ? acquired.loadLog + outcome.log : outcome.log,
        timeoutMs,
      };
    } finally {
      signal?.removeEventListener('abort', abort);
      // Whatever the code left open is rolled back: a call's transaction never outlives it.
      void state.close();
    }
  }
}

/** What history keeps of any run: its error (empty on success), output, log and whether it was cold. */
export function summarize(run: RunResult): { error: string; output: Buffer; log: string; coldStart: boolean } {
  switch (run.kind) {
    case 'outcome':
      return {
        error: errorOf(run.outcome),
        output: run.outcome.kind === 'ok' ? run.outcome.output : Buffer.alloc(0),
        log: run.log,
        coldStart: run.coldStart,
      };
    case 'load_failure':
      return { error: run.error, output: Buffer.alloc(0), log: run.log, coldStart: true };
    case 'rejected':
      return { error: run.error.message, output: Buffer.alloc(0), log: '', coldStart: false };
  }
}

/** The error an outcome is recorded with; empty for success. */
function errorOf(outcome: InvokeOutcome): string {
  switch (outcome.kind) {
    case 'ok':
      return '';
    case 'timeout':
      return 'Timeout: the function did not finish in time';
    case 'function_error':
    case 'crashed':
    case 'memory':
    case 'output_too_large':
      return outcome.error;
  }
}
