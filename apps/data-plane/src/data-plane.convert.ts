import type { dataPlane } from '#proto';
import { validTraceparent } from '#server';
import type { InvocationDetail, InvocationMetrics } from '#storage';
import type { AsyncCall } from './async/async-invocations.service.js';
import type { NodeHealth } from './health/node-health.service.js';
import type { InvocationQuery } from './invocations/invocations.service.js';
import type { InvokeCall, InvokeResult, StreamChunk } from './invoke/invoke.service.js';

// Between nova.v1.DataPlane's messages and the features' own types: the
// controller calls these and nothing past it sees a wire type.

export function toInvokeCall(
  request: dataPlane.InvokeRequest,
  correlationId: string,
  callDeadline: number | undefined,
  traceparent: string | undefined,
): InvokeCall {
  return {
    functionName: request.function,
    version: request.version,
    includeLog: request.includeLog,
    payload: request.payload,
    metadata: request.metadata,
    timeoutS: request.timeoutS,
    correlationId,
    callDeadline,
    // The call's own (gRPC metadata, its span's when tracing is on), else one the caller put in the request.
    traceparent: traceparent ?? validTraceparent(request.metadata['traceparent']),
  };
}

export function toInvokeResponse(result: InvokeResult): dataPlane.InvokeResponse {
  return {
    requestId: result.invocationId,
    output: result.output,
    error: result.error,
    durationMs: result.durationMs,
    coldStart: result.coldStart,
    version: result.version,
    log: result.log,
  };
}

export function toStreamChunk(chunk: StreamChunk): dataPlane.InvokeStreamChunk {
  return {
    requestId: chunk.invocationId,
    data: chunk.data,
    final: chunk.final,
    error: chunk.error,
    version: chunk.version,
    log: chunk.log,
  };
}

export function toAsyncCall(
  request: dataPlane.InvokeAsyncRequest,
  correlationId: string,
  traceparent: string | undefined,
): AsyncCall {
  return {
    correlationId,
    functionName: request.function,
    version: request.version,
    payload: request.payload,
    maxAttempts: request.maxAttempts,
    backoffBaseMs: request.backoffBaseMs,
    backoffMaxMs: request.backoffMaxMs,
    idempotencyKey: request.idempotencyKey,
    traceparent,
  };
}

export function toInvocationQuery(request: dataPlane.ListInvocationsRequest): InvocationQuery {
  return { functionName: request.function, status: request.status, limit: request.limit, offset: request.offset };
}

export function toInvocationLog(record: InvocationDetail): dataPlane.InvocationLog {
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
    kind: record.kind,
    correlationId: record.correlationId,
    progress: record.progress,
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

export function toMetricsResponse(metrics: InvocationMetrics): dataPlane.GetMetricsResponse {
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

export function toHealthResponse(health: NodeHealth): dataPlane.HealthResponse {
  return { status: health.healthy ? 'healthy' : 'unhealthy', components: health.components };
}
