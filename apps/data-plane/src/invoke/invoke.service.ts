import { Injectable } from '@nestjs/common';
import type { FunctionRecord } from '#storage';
import { InvalidArgumentError } from '#server';
import type { dataPlane } from '#proto';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRecorder } from '../invocations/invocation-recorder.js';
import { InvocationRunner, summarize, type RunResult } from './invocation-runner.js';
import {
  InvocationTimeoutError,
  MemoryLimitError,
  OutputTooLargeError,
  PAYLOAD_LIMIT_BYTES,
  PayloadTooLargeError,
  UnknownFunctionError,
} from './invoke.errors.js';

/** Synchronous and streaming invocation: one attempt, answered to the caller, recorded. */
@Injectable()
export class InvokeService {
  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly runner: InvocationRunner,
    private readonly recorder: InvocationRecorder,
  ) {}

  /**
   * @param callDeadline the gRPC deadline of the call, when the client set one
   */
  async invoke(
    request: dataPlane.InvokeRequest,
    requestId: string,
    callDeadline?: number,
  ): Promise<dataPlane.InvokeResponse> {
    const { record, deadline } = await this.prepare(request, callDeadline);
    const result = await this.runner.run(record, {
      requestId,
      payload: request.payload,
      metadata: request.metadata,
      deadline,
    });
    this.record(requestId, record, result);
    const base = { requestId, durationMs: Math.round(result.durationMs) };
    switch (result.kind) {
      case 'load_failure':
        return { ...base, output: Buffer.alloc(0), error: result.error, coldStart: true };
      case 'rejected':
        throw result.error;
      case 'outcome':
        return { ...base, ...this.answer(record, result), coldStart: result.coldStart };
    }
  }

  /**
   * Streams each item the handler yields; the last chunk is final and
   * carries the handler's error, if any. Aborting stops the handler.
   */
  async stream(
    request: dataPlane.InvokeRequest,
    requestId: string,
    /** A returned promise asks for no more chunks until it settles (the client reads slowly). */
    emit: (chunk: dataPlane.InvokeStreamChunk) => void | Promise<void>,
    signal: AbortSignal,
    callDeadline?: number,
  ): Promise<void> {
    const { record, deadline } = await this.prepare(request, callDeadline);
    const result = await this.runner.run(record, {
      requestId,
      payload: request.payload,
      metadata: request.metadata,
      deadline,
      signal,
      onChunk: (data) => emit({ requestId, data, final: false, error: '' }),
    });
    if (signal.aborted) {
      this.record(requestId, record, result, 'Cancelled: the client cancelled the stream');
      return;
    }
    this.record(requestId, record, result);
    switch (result.kind) {
      case 'load_failure':
        return void emit({ requestId, data: Buffer.alloc(0), final: true, error: result.error });
      case 'rejected':
        throw result.error;
      case 'outcome': {
        const { error } = this.answer(record, result);
        return void emit({ requestId, data: Buffer.alloc(0), final: true, error });
      }
    }
  }

  private async prepare(
    request: dataPlane.InvokeRequest,
    callDeadline: number | undefined,
  ): Promise<{ record: FunctionRecord; deadline: number }> {
    if (request.function === '') throw new InvalidArgumentError('function', 'is required');
    if (request.payload.length > PAYLOAD_LIMIT_BYTES) throw new PayloadTooLargeError(request.payload.length);
    if (!Number.isInteger(request.timeoutS) || request.timeoutS < 0) {
      throw new InvalidArgumentError('timeout_s', `must be 0 or more (got ${request.timeoutS})`);
    }
    const record = this.catalog.peek(request.function) ?? (await this.catalog.get(request.function));
    if (!record) throw new UnknownFunctionError(request.function);
    const timeoutS = request.timeoutS > 0 ? Math.min(request.timeoutS, record.timeoutS) : record.timeoutS;
    return { record, deadline: Math.min(Date.now() + timeoutS * 1000, callDeadline ?? Infinity) };
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
        return { output: Buffer.alloc(0), error: outcome.error };
      case 'timeout':
        throw new InvocationTimeoutError(record.name, result.timeoutMs);
      case 'memory':
        throw new MemoryLimitError(record.name, record.memoryMb, outcome.error);
      case 'output_too_large':
        throw new OutputTooLargeError(record.name, outcome.error);
    }
  }

  private record(id: string, record: FunctionRecord, result: RunResult, cancelled?: string): void {
    const summary = summarize(result);
    const error = cancelled ?? summary.error;
    this.recorder.record({
      id,
      functionName: record.name,
      version: result.version,
      durationMs: result.durationMs,
      success: error === '',
      coldStart: summary.coldStart,
      error,
      log: summary.log,
      createdAt: result.startedAt,
    });
  }
}
