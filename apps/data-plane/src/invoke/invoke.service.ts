import { Injectable } from '@nestjs/common';
import type { FunctionRecord } from '#storage';
import { DomainError, InvalidArgumentError } from '#server';
import type { dataPlane } from '#proto';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRecorder } from '../invocations/invocation-recorder.js';
import { InstancePoolService } from '../pool/instance-pool.service.js';
import { LoadFailure, type InvokeOutcome } from '../pool/instance.js';
import type { Acquired } from '../pool/function-pool.js';
import {
  InvocationTimeoutError,
  MemoryLimitError,
  OutputTooLargeError,
  PAYLOAD_LIMIT_BYTES,
  PayloadTooLargeError,
  UnknownFunctionError,
} from './invoke.errors.js';

/** Runs functions: picks an instance, runs one call in it, records the call. */
@Injectable()
export class InvokeService {
  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly pools: InstancePoolService,
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
    if (request.function === '') throw new InvalidArgumentError('function', 'is required');
    if (request.payload.length > PAYLOAD_LIMIT_BYTES) throw new PayloadTooLargeError(request.payload.length);
    if (!Number.isInteger(request.timeoutS) || request.timeoutS < 0) {
      throw new InvalidArgumentError('timeout_s', `must be 0 or more (got ${request.timeoutS})`);
    }
    const record = this.catalog.peek(request.function) ?? (await this.catalog.get(request.function));
    if (!record) throw new UnknownFunctionError(request.function);

    const started = performance.now();
    const startedAt = new Date();
    const timeoutS = request.timeoutS > 0 ? Math.min(request.timeoutS, record.timeoutS) : record.timeoutS;
    const deadline = Math.min(Date.now() + timeoutS * 1000, callDeadline ?? Infinity);

    let acquired: Acquired;
    try {
      acquired = await this.pools.acquire(record, deadline);
    } catch (error) {
      const durationMs = performance.now() - started;
      if (error instanceof LoadFailure) {
        // The function's own code failed to import: a function error, like Lambda's init errors.
        this.record(requestId, record, startedAt, durationMs, true, error.error, error.log);
        return {
          requestId,
          output: Buffer.alloc(0),
          error: error.error,
          durationMs: Math.round(durationMs),
          coldStart: true,
        };
      }
      if (error instanceof DomainError) this.record(requestId, record, startedAt, durationMs, false, error.message, '');
      throw error;
    }

    const timeoutMs = Math.max(1, deadline - Date.now());
    const outcome = await acquired.instance.invoke(requestId, request.payload, request.metadata, timeoutMs);
    this.pools.release(record, acquired, outcome);
    const durationMs = performance.now() - started;
    const log = acquired.loadLog + outcome.log;
    const error = errorOf(outcome);
    this.record(requestId, record, startedAt, durationMs, acquired.cold, error, log);
    return this.respond(record, requestId, outcome, durationMs, acquired.cold, timeoutMs);
  }

  private respond(
    record: FunctionRecord,
    requestId: string,
    outcome: InvokeOutcome,
    durationMs: number,
    coldStart: boolean,
    timeoutMs: number,
  ): dataPlane.InvokeResponse {
    const base = { requestId, durationMs: Math.round(durationMs), coldStart };
    switch (outcome.kind) {
      case 'ok':
        return { ...base, output: outcome.output, error: '' };
      case 'function_error':
      case 'crashed':
        return { ...base, output: Buffer.alloc(0), error: outcome.error };
      case 'timeout':
        throw new InvocationTimeoutError(record.name, timeoutMs);
      case 'memory':
        throw new MemoryLimitError(record.name, record.memoryMb, outcome.error);
      case 'output_too_large':
        throw new OutputTooLargeError(record.name, outcome.error);
    }
  }

  private record(
    id: string,
    record: FunctionRecord,
    createdAt: Date,
    durationMs: number,
    coldStart: boolean,
    error: string,
    log: string,
  ): void {
    this.recorder.record({
      id,
      functionName: record.name,
      version: record.version,
      durationMs,
      success: error === '',
      coldStart,
      error,
      log,
      createdAt,
    });
  }
}

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
