import { Injectable } from '@nestjs/common';
import {
  FunctionInvoker,
  type FunctionCall,
  type FunctionOutcome,
  type FunctionStreamItem,
  type InvocationState,
  type QueuedFunctionCall,
} from '#server';
import { AsyncInvocationsService } from '../async/async-invocations.service.js';
import { InvocationsService } from '../invocations/invocations.service.js';
import { InvokeService, type InvokeCall } from '../invoke/invoke.service.js';

function toInvokeCall(call: FunctionCall): InvokeCall {
  return {
    functionName: call.functionName,
    version: 0,
    includeLog: false,
    payload: call.payload,
    metadata: {},
    timeoutS: 0,
    correlationId: call.correlationId,
    callDeadline: call.deadline,
  };
}

/** Functions run by this process's own data plane, with no network hop: how unified mode serves the agent platform. */
@Injectable()
export class InProcessFunctionInvoker extends FunctionInvoker {
  constructor(
    private readonly invokeService: InvokeService,
    private readonly asyncInvocations: AsyncInvocationsService,
    private readonly invocations: InvocationsService,
  ) {
    super();
  }

  async invoke(call: FunctionCall): Promise<FunctionOutcome> {
    const result = await this.invokeService.invoke(toInvokeCall(call));
    return { invocationId: result.invocationId, output: result.output, error: result.error };
  }

  async *stream(call: FunctionCall, signal: AbortSignal): AsyncIterable<FunctionStreamItem> {
    // The data plane pushes; the consumer pulls: a small queue between, with the data plane waiting when it is full.
    const items: FunctionStreamItem[] = [];
    let wake: (() => void) | undefined;
    let room: (() => void) | undefined;
    let done = false;
    let failure: Error | undefined;
    const running = this.invokeService
      .stream(
        toInvokeCall(call),
        (chunk) => {
          if (chunk.data.length > 0 || chunk.error) items.push({ data: chunk.data, error: chunk.error });
          wake?.();
          if (items.length >= 16) return new Promise<void>((resolve) => (room = resolve));
        },
        signal,
      )
      .catch((error: unknown) => (failure = error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        done = true;
        wake?.();
      });
    try {
      for (;;) {
        const item = items.shift();
        if (item) {
          room?.();
          room = undefined;
          yield item;
          continue;
        }
        if (done) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (failure !== undefined) throw failure;
    } finally {
      room?.();
      await running;
    }
  }

  async enqueue(call: QueuedFunctionCall): Promise<string> {
    const queued = await this.asyncInvocations.enqueue({
      correlationId: call.correlationId,
      functionName: call.functionName,
      version: 0,
      payload: call.payload,
      maxAttempts: 0,
      backoffBaseMs: 0,
      backoffMaxMs: 0,
      idempotencyKey: call.idempotencyKey,
    });
    return queued.id;
  }

  async invocation(id: string): Promise<InvocationState> {
    const detail = await this.invocations.get(id);
    return {
      id: detail.id,
      status: detail.status,
      attempts: detail.attempts,
      maxAttempts: detail.maxAttempts,
      output: detail.output,
      error: detail.error,
      progress: detail.progress,
    };
  }
}
