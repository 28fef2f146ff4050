import { randomUUID } from 'node:crypto';
import { type Metadata, ServerInterceptingCall, type ServerInterceptor, status as GrpcStatus } from '@grpc/grpc-js';
import { JsonLogger, isLogLevelEnabled } from './json-logger.js';
import { REQUEST_ID_HEADER } from './request-id.js';
import { runWithRequestId } from './request-context.js';
import { malformedRequestStatus } from '../grpc/malformed-requests.js';
import type { NovaMetrics } from '../metrics/nova-metrics.js';
import { TRACEPARENT, type ActiveSpan, type NovaTracing } from '../tracing/nova-tracing.js';

const logger = new JsonLogger('grpc');
// Request ids come from clients: keep them short and printable.
const acceptableRequestId = /^[\w.:-]{1,128}$/;

/**
 * A grpc-js server interceptor, so that it sees every call — also those that
 * never reach a Nest handler (auth failures, UNIMPLEMENTED, health checks):
 * it gives each call a request id (x-request-id from the client, or a new
 * UUID), returns it in the response headers, and writes one JSON line per
 * call with method, status code, duration and request id. It also ends a
 * call whose request could not be decoded with INVALID_ARGUMENT: one
 * interceptor layer per call, not two, on the hot path. The handler runs
 * inside the call's request context, so every log line it causes carries
 * the request id (request-context.ts). Each call also counts in the call
 * metrics (method, code, duration) and, with tracing on, is a span whose
 * traceparent replaces the caller's in the metadata: what the handler
 * starts (an invocation, a router's forward to a node) is its child.
 */
export const callInterceptor =
  (metrics: NovaMetrics, tracing: NovaTracing): ServerInterceptor =>
  (methodDescriptor, call) => {
    const started = process.hrtime.bigint();
    let requestId = '';
    let span: ActiveSpan | undefined;
    const intercepted: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMessage(message: unknown, messageNext) {
            const malformed = malformedRequestStatus(methodDescriptor.path, message);
            if (malformed) intercepted.sendStatus(malformed);
            else runWithRequestId(requestId, () => messageNext(message));
          },
          // grpc-js calls the handler from here (or from the message, for some
          // call types): what the handler logs, now or later, has the call's id.
          onReceiveHalfClose(halfCloseNext) {
            runWithRequestId(requestId, halfCloseNext);
          },
          onReceiveMetadata(metadata: Metadata, mdNext) {
            const given = metadata.get(REQUEST_ID_HEADER)[0];
            requestId = typeof given === 'string' && acceptableRequestId.test(given) ? given : randomUUID();
            metadata.set(REQUEST_ID_HEADER, requestId);
            if (tracing.enabled) span = startCallSpan(tracing, methodDescriptor.path, metadata, requestId);
            mdNext(metadata);
          },
          onCancel() {
            span?.end('cancelled by the client');
            span = undefined;
          },
        });
      },
      sendMetadata(metadata, next) {
        if (requestId) metadata.set(REQUEST_ID_HEADER, requestId);
        next(metadata);
      },
      sendStatus(status, next) {
        const level = status.code === GrpcStatus.OK ? 'info' : status.code === GrpcStatus.INTERNAL ? 'error' : 'warn';
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
        metrics.grpcCall(methodDescriptor.path, GrpcStatus[status.code] ?? String(status.code), durationMs / 1000);
        if (span) {
          span.setAttributes({ 'rpc.grpc.status_code': status.code });
          span.end(status.code === GrpcStatus.OK ? undefined : `${GrpcStatus[status.code]}: ${status.details}`);
          span = undefined;
        }
        if (isLogLevelEnabled(level)) {
          logger.write(level, 'call', {
            method: methodDescriptor.path,
            code: GrpcStatus[status.code],
            durationMs: Math.round(durationMs * 1000) / 1000,
            requestId,
            ...(status.code === GrpcStatus.OK ? {} : { details: status.details }),
          });
        }
        next(status);
      },
    });
    return intercepted;
  };

/** The call's server span, under the caller's traceparent; its own replaces it in the metadata. */
function startCallSpan(
  tracing: NovaTracing,
  path: string,
  metadata: Metadata,
  requestId: string,
): ActiveSpan | undefined {
  const parent = metadata.get(TRACEPARENT)[0];
  const [, service = '', method = ''] = path.split('/');
  const span = tracing.start(`${service}/${method}`, 'server', typeof parent === 'string' ? parent : undefined, {
    'rpc.system': 'grpc',
    'rpc.service': service,
    'rpc.method': method,
    'nova.request_id': requestId,
  });
  if (span) metadata.set(TRACEPARENT, span.traceparent);
  return span;
}
