import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import type { dataPlane } from '#proto';
import type { InvocationDetail } from '#storage';
import { RequiredScope, requestIdOf } from '#server';
import { AsyncInvocationsService } from './async/async-invocations.service.js';
import { InvocationsService } from './invocations/invocations.service.js';
import { InvokeService } from './invoke/invoke.service.js';

type DataPlaneRpcs = Omit<dataPlane.DataPlaneController, 'health'>;

function toInvocationLog(record: InvocationDetail): dataPlane.InvocationLog {
  return {
    id: record.id,
    functionName: record.functionName,
    durationMs: record.durationMs,
    success: record.success,
    coldStart: record.coldStart,
    error: record.error,
    createdAt: record.createdAt.toISOString(),
    version: record.version,
    log: record.log,
    status: record.status,
    attempts: record.attempts,
    output: record.output,
    async: record.isAsync,
    maxAttempts: record.maxAttempts,
    attemptHistory: record.attemptHistory.map((attempt) => ({
      attempt: attempt.attempt,
      startedAt: attempt.startedAt,
      durationMs: attempt.durationMs,
      error: attempt.error,
    })),
    nextAttemptAt:
      record.nextRunAt && (record.status === 'failed' || record.status === 'queued')
        ? record.nextRunAt.toISOString()
        : '',
  };
}

/** The client's deadline for the call, if it set one. */
function deadlineOf(call: { getDeadline(): Date | number }): number | undefined {
  const deadline = call.getDeadline();
  if (deadline instanceof Date) return deadline.getTime();
  return Number.isFinite(deadline) ? deadline : undefined;
}

/** nova.v1.DataPlane, but Health (health/). Each RPC is one service call. */
@Controller()
@RequiredScope('invoke')
export class DataPlaneController implements DataPlaneRpcs {
  constructor(
    private readonly invokeService: InvokeService,
    private readonly asyncInvocations: AsyncInvocationsService,
    private readonly invocations: InvocationsService,
  ) {}

  @GrpcMethod('DataPlane', 'Invoke')
  invoke(
    request: dataPlane.InvokeRequest,
    metadata: Metadata,
    call: ServerUnaryCall<dataPlane.InvokeRequest, dataPlane.InvokeResponse>,
  ): Promise<dataPlane.InvokeResponse> {
    return this.invokeService.invoke(request, requestIdOf(metadata), deadlineOf(call));
  }

  @GrpcMethod('DataPlane', 'InvokeAsync')
  async invokeAsync(request: dataPlane.InvokeAsyncRequest): Promise<dataPlane.InvokeAsyncResponse> {
    const queued = await this.asyncInvocations.enqueue(request);
    return { invocationId: queued.id, status: queued.status };
  }

  @GrpcMethod('DataPlane', 'InvokeStream')
  invokeStream(
    request: dataPlane.InvokeRequest,
    metadata: Metadata,
    call: ServerWritableStream<dataPlane.InvokeRequest, dataPlane.InvokeStreamChunk>,
  ): Observable<dataPlane.InvokeStreamChunk> {
    return new Observable((subscriber) => {
      // Unsubscribing (the client cancelled) stops the handler.
      const abort = new AbortController();
      this.invokeService
        .stream(
          request,
          requestIdOf(metadata),
          (chunk) => {
            subscriber.next(chunk);
            // The client reads slower than the function yields: stop reading
            // from the instance until the call's buffer drains, so memory
            // stays bounded whatever the function sends.
            if (call.writableNeedDrain) return new Promise<void>((resolve) => call.once('drain', resolve));
          },
          abort.signal,
          deadlineOf(call),
        )
        .then(
          () => subscriber.complete(),
          (error: unknown) => subscriber.error(error),
        );
      return () => abort.abort();
    });
  }

  @GrpcMethod('DataPlane', 'ListInvocations')
  async listInvocations(request: dataPlane.ListInvocationsRequest): Promise<dataPlane.ListInvocationsResponse> {
    const page = await this.invocations.list(request.function, request.status, request.limit, request.offset);
    return { invocations: page.invocations.map(toInvocationLog), total: page.total };
  }

  @GrpcMethod('DataPlane', 'GetInvocation')
  async getInvocation(request: dataPlane.GetInvocationRequest): Promise<dataPlane.InvocationLog> {
    return toInvocationLog(await this.invocations.get(request.id));
  }

  @GrpcMethod('DataPlane', 'GetMetrics')
  async getMetrics(request: dataPlane.GetMetricsRequest): Promise<dataPlane.GetMetricsResponse> {
    const metrics = await this.invocations.metrics(request.function, request.rangeSeconds);
    return {
      totalInvocations: metrics.total,
      successfulInvocations: metrics.successful,
      failedInvocations: metrics.failed,
      avgDurationMs: metrics.avgDurationMs,
      p50DurationMs: metrics.p50DurationMs,
      p95DurationMs: metrics.p95DurationMs,
      p99DurationMs: metrics.p99DurationMs,
    };
  }
}
