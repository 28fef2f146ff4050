import { Controller } from '@nestjs/common';
import {
  Metadata as GrpcMetadata,
  type Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { dataPlane } from '#proto';
import { JsonLogger, RequiredScope, ServerStopping, deadlineOf, requestIdOf, traceparentOf } from '#server';
import { AsyncInvocationsService } from './async/async-invocations.service.js';
import { NodeHealthService } from './health/node-health.service.js';
import { InvocationsService } from './invocations/invocations.service.js';
import { LiveInvocationLogs } from './invocations/live-invocation-logs.js';
import { InvokeService } from './invoke/invoke.service.js';
import {
  toAsyncCall,
  toHealthResponse,
  toInvocationLog,
  toInvocationQuery,
  toInvokeCall,
  toInvokeResponse,
  toMetricsResponse,
  toStreamChunk,
} from './data-plane.convert.js';

/** The client's deadline for the call, if it set one. */
/** nova.v1.DataPlane; each RPC converts its request, makes one service call, converts the answer. */
@Controller()
@RequiredScope('invoke')
@dataPlane.DataPlaneControllerMethods()
export class DataPlaneController implements dataPlane.DataPlaneController {
  constructor(
    private readonly invokeService: InvokeService,
    private readonly asyncInvocations: AsyncInvocationsService,
    private readonly invocations: InvocationsService,
    private readonly nodeHealth: NodeHealthService,
    private readonly liveLogs: LiveInvocationLogs,
    private readonly stopping: ServerStopping,
  ) {}

  private readonly logger = new JsonLogger('data-plane');

  async invoke(
    request: dataPlane.InvokeRequest,
    metadata: Metadata,
    call: ServerUnaryCall<dataPlane.InvokeRequest, dataPlane.InvokeResponse>,
  ): Promise<dataPlane.InvokeResponse> {
    const result = await this.invokeService.invoke(
      toInvokeCall(request, requestIdOf(metadata), deadlineOf(call), traceparentOf(metadata)),
    );
    return toInvokeResponse(result);
  }

  async invokeAsync(request: dataPlane.InvokeAsyncRequest, metadata: Metadata): Promise<dataPlane.InvokeAsyncResponse> {
    const queued = await this.asyncInvocations.enqueue(
      toAsyncCall(request, requestIdOf(metadata), traceparentOf(metadata)),
    );
    return { invocationId: queued.id, status: queued.status };
  }

  invokeStream(
    request: dataPlane.InvokeRequest,
    metadata: Metadata,
    call: ServerWritableStream<dataPlane.InvokeRequest, dataPlane.InvokeStreamChunk>,
  ): Observable<dataPlane.InvokeStreamChunk> {
    const correlationId = requestIdOf(metadata);
    return new Observable((subscriber) => {
      // Unsubscribing (the client cancelled) stops the handler.
      const abort = new AbortController();
      this.invokeService
        .stream(
          toInvokeCall(request, correlationId, deadlineOf(call), traceparentOf(metadata)),
          (chunk) => {
            subscriber.next(toStreamChunk(chunk));
            // The client reads slower than the function yields: stop reading
            // from the instance until the call's buffer drains, so memory
            // stays bounded whatever the function sends.
            if (call.writableNeedDrain) return new Promise<void>((resolve) => call.once('drain', resolve));
          },
          abort.signal,
        )
        .then(
          () => subscriber.complete(),
          (error: unknown) => subscriber.error(error),
        );
      return () => abort.abort();
    });
  }

  tailLogs(
    request: dataPlane.TailLogsRequest,
    _metadata: Metadata,
    call: ServerWritableStream<dataPlane.TailLogsRequest, dataPlane.InvocationLog>,
  ): Observable<dataPlane.InvocationLog> {
    return new Observable((subscriber) => {
      let stop: (() => void) | undefined;
      let skipped = 0;
      const end = (): void => subscriber.complete();
      this.stopping.signal.addEventListener('abort', end, { once: true });
      this.liveLogs
        .follow(request.function, (invocation) => {
          // A reader slower than the node's invocations loses lines rather
          // than holding them all in memory.
          if (call.writableNeedDrain) {
            skipped += 1;
            return;
          }
          if (skipped > 0) {
            this.logger.warn('a log tail fell behind; invocations skipped', { skipped });
            skipped = 0;
          }
          subscriber.next(toInvocationLog(invocation));
        })
        .then(
          (unfollow) => {
            if (subscriber.closed) return unfollow();
            stop = unfollow;
            // Headers now tell the client it is following: nothing that finishes from here on is missed.
            call.sendMetadata(new GrpcMetadata());
            if (this.stopping.signal.aborted) end();
          },
          (error: unknown) => subscriber.error(error),
        );
      return () => {
        stop?.();
        this.stopping.signal.removeEventListener('abort', end);
      };
    });
  }

  async health(): Promise<dataPlane.HealthResponse> {
    return toHealthResponse(await this.nodeHealth.check());
  }

  async listInvocations(request: dataPlane.ListInvocationsRequest): Promise<dataPlane.ListInvocationsResponse> {
    const page = await this.invocations.list(toInvocationQuery(request));
    return { invocations: page.invocations.map(toInvocationLog), total: page.total };
  }

  async getInvocation(request: dataPlane.GetInvocationRequest): Promise<dataPlane.InvocationLog> {
    return toInvocationLog(await this.invocations.get(request.id));
  }

  async getMetrics(request: dataPlane.GetMetricsRequest): Promise<dataPlane.GetMetricsResponse> {
    return toMetricsResponse(await this.invocations.metrics(request.function, request.rangeSeconds));
  }
}
