import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import type { dataPlane } from '#proto';
import type { InvocationRecord } from '#storage';
import { RequiredScope, requestIdOf } from '#server';
import { InvocationsService } from '../invocations/invocations.service.js';
import { InvokeService } from './invoke.service.js';

type DataPlaneRpcs = Pick<dataPlane.DataPlaneController, 'invoke' | 'listInvocations' | 'getInvocation' | 'getMetrics'>;

function toInvocationLog(record: InvocationRecord): dataPlane.InvocationLog {
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
  };
}

/** nova.v1.DataPlane: invocation and its history. InvokeAsync has no handler yet (UNIMPLEMENTED). */
@Controller()
@RequiredScope('invoke')
export class DataPlaneController implements DataPlaneRpcs {
  constructor(
    private readonly invokeService: InvokeService,
    private readonly invocations: InvocationsService,
  ) {}

  @GrpcMethod('DataPlane', 'Invoke')
  invoke(
    request: dataPlane.InvokeRequest,
    metadata: Metadata,
    call: ServerUnaryCall<dataPlane.InvokeRequest, dataPlane.InvokeResponse>,
  ): Promise<dataPlane.InvokeResponse> {
    const deadline = call.getDeadline();
    const callDeadline =
      deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;
    return this.invokeService.invoke(request, requestIdOf(metadata), callDeadline);
  }

  @GrpcMethod('DataPlane', 'ListInvocations')
  async listInvocations(request: dataPlane.ListInvocationsRequest): Promise<dataPlane.ListInvocationsResponse> {
    const page = await this.invocations.list(request.function, request.limit, request.offset);
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
