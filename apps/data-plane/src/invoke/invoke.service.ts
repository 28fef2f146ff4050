import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { FunctionRecord } from '#storage';
import { InvalidArgumentError } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRecorder } from '../invocations/invocation-recorder.js';
import { InvocationRunner, summarize, type RunOptions, type RunResult } from './invocation-runner.js';
import { invokeErrors } from './invoke.errors.js';
import { checkCallInput } from './invoke.rules.js';

const EMPTY = Buffer.alloc(0);

/** One call of a function, as the caller asked for it. */
export interface InvokeCall {
  /** "name", or "name:3", "name:alias", "name:latest". */
  functionName: string;
  /** A version to run; 0: the one functionName names. */
  version: number;
  /** Return what the call printed (Lambda's LogType Tail). */
  includeLog: boolean;
  payload: Uint8Array;
  metadata: Record<string, string>;
  /** At most the function's own timeout; 0 means exactly that. */
  timeoutS: number;
  /** The call's x-request-id, kept on the record as its correlation id. */
  correlationId: string;
  /** Epoch ms of the client's own deadline, when it set one. */
  callDeadline: number | undefined;
  /** W3C trace context of the call (its span, with tracing on), handed to the handler as context.traceparent. */
  traceparent?: string;
}

/** A finished call: the output, or the handler's error (a failure of the platform is thrown instead). */
export interface InvokeResult {
  /** This invocation's own id, unique. */
  invocationId: string;
  output: Buffer;
  error: string;
  coldStart: boolean;
  durationMs: number;
  /** The version that ran. */
  version: number;
  /** What the call printed, when the call asked for it; else empty. */
  log: string;
}

/** One item a streaming handler yielded; the last one is final and carries the handler's error, if any. */
export interface StreamChunk {
  /** The invocation's own id, unique. */
  invocationId: string;
  data: Buffer;
  final: boolean;
  error: string;
  /** On the final chunk: the version that ran, and the log when the call asked for it. */
  version: number;
  log: string;
}

/** Synchronous and streaming invocation: one attempt, answered to the caller, recorded. */
@Injectable()
export class InvokeService {
  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly runner: InvocationRunner,
    private readonly recorder: InvocationRecorder,
  ) {}

  async invoke(call: InvokeCall): Promise<InvokeResult> {
    const invocationId = randomUUID();
    const { record, result } = await this.run(invocationId, call);
    const log = this.record(invocationId, call, 'sync', record, result);
    let output: Buffer = EMPTY;
    let error: string;
    let coldStart = true;
    switch (result.kind) {
      case 'load_failure':
        error = result.error;
        break;
      case 'rejected':
        throw result.error;
      case 'outcome':
        ({ output, error } = this.answer(record, result));
        coldStart = result.coldStart;
        break;
    }
    return {
      invocationId,
      output,
      error,
      coldStart,
      durationMs: Math.round(result.durationMs),
      version: record.version,
      log: call.includeLog ? log : '',
    };
  }

  /**
   * Streams each item the handler yields; the last chunk is final and
   * carries the handler's error, if any. Aborting stops the handler.
   */
  async stream(
    call: InvokeCall,
    /** A returned promise asks for no more chunks until it settles (the client reads slowly). */
    emit: (chunk: StreamChunk) => void | Promise<void>,
    signal: AbortSignal,
  ): Promise<void> {
    const invocationId = randomUUID();
    const { record, result } = await this.run(invocationId, call, {
      signal,
      onChunk: (data) => emit({ invocationId, data, final: false, error: '', version: 0, log: '' }),
    });
    if (signal.aborted) {
      this.record(invocationId, call, 'stream', record, result, 'Cancelled: the client cancelled the stream');
      return;
    }
    const log = this.record(invocationId, call, 'stream', record, result);
    const final = { invocationId, data: Buffer.alloc(0), final: true, version: record.version };
    const tail = call.includeLog ? log : '';
    switch (result.kind) {
      case 'load_failure':
        return void emit({ ...final, error: result.error, log: tail });
      case 'rejected':
        throw result.error;
      case 'outcome': {
        const { error } = this.answer(record, result);
        return void emit({ ...final, error, log: tail });
      }
    }
  }

  /** Checks the call, finds its function, and runs one attempt within the call's deadline. */
  private async run(
    invocationId: string,
    call: InvokeCall,
    streaming?: Pick<RunOptions, 'signal' | 'onChunk'>,
  ): Promise<{ record: FunctionRecord; result: RunResult }> {
    checkCallInput(call.functionName, call.payload);
    if (!Number.isInteger(call.timeoutS) || call.timeoutS < 0) {
      throw new InvalidArgumentError('timeout_s', `must be 0 or more (got ${call.timeoutS})`);
    }
    // A function the catalog holds comes without a promise (the warm path).
    const found = this.catalog.resolve(call.functionName, call.version);
    const record = found instanceof Promise ? await found : found;
    const timeoutS = call.timeoutS > 0 ? Math.min(call.timeoutS, record.timeoutS) : record.timeoutS;
    const result = await this.runner.run(record, {
      requestId: invocationId,
      payload: call.payload,
      metadata: call.metadata,
      deadline: Math.min(Date.now() + timeoutS * 1000, call.callDeadline ?? Infinity),
      traceparent: call.traceparent,
      onChunk: streaming?.onChunk,
      signal: streaming?.signal,
    });
    return { record, result };
  }

  /** The caller's answer to a finished attempt: output and error, or a status code. */
  private answer(
    record: FunctionRecord,
    result: Extract<RunResult, { kind: 'outcome' }>,
  ): { output: Buffer; error: string } {
    const { outcome } = result;
    switch (outcome.kind) {
      case 'ok':
        return { output: outcome.output, error: '' };
      case 'function_error':
      case 'crashed':
        return { output: EMPTY, error: outcome.error };
      case 'timeout':
        throw invokeErrors.timeout(record.name, result.timeoutMs);
      case 'memory':
        throw invokeErrors.memoryLimit(record.name, record.memoryMb, outcome.error);
      case 'output_too_large':
        throw invokeErrors.outputTooLarge(record.name, outcome.error);
    }
  }

  private record(
    id: string,
    call: InvokeCall,
    kind: 'sync' | 'stream',
    record: FunctionRecord,
    result: RunResult,
    cancelled?: string,
  ): string {
    const summary = summarize(result);
    const error = cancelled ?? summary.error;
    this.recorder.record({
      id,
      correlationId: call.correlationId,
      kind,
      functionName: record.name,
      version: result.version,
      durationMs: result.durationMs,
      success: error === '',
      coldStart: summary.coldStart,
      error,
      log: summary.log,
      createdAt: result.startedAt,
    });
    return summary.log;
  }
}
