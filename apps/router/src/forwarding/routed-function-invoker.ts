import { Injectable } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinitionOf, serviceNames, type dataPlane } from '#proto';
import {
  FunctionInvoker,
  REQUEST_ID_HEADER,
  type FunctionCall,
  type FunctionOutcome,
  type FunctionStreamItem,
  type InvocationState,
  type QueuedFunctionCall,
} from '#server';
import { Forwarder, type ForwardedCall } from './forwarder.js';

const methods = serviceDefinitionOf(serviceNames.dataPlane);

function routeOf(method: string, affinity: boolean, idempotent: boolean): ForwardedCall {
  return { path: methods[method]!.path, plane: 'data-plane', affinity, idempotent };
}

const routes = {
  invoke: routeOf('Invoke', true, false),
  stream: routeOf('InvokeStream', true, false),
  enqueue: routeOf('InvokeAsync', false, false),
  invocation: routeOf('GetInvocation', false, true),
};

/** The node checks the caller's own key, as it does for a call forwarded whole. */
function metadataOf(correlationId: string, authorization: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (correlationId) metadata.set(REQUEST_ID_HEADER, correlationId);
  if (authorization) metadata.set('authorization', authorization);
  return metadata;
}

function invokeRequest(call: FunctionCall): dataPlane.InvokeRequest {
  return {
    function: call.functionName,
    payload: call.payload,
    timeoutS: 0,
    metadata: {},
    version: 0,
    includeLog: false,
  };
}

/**
 * Functions run on the cluster's data-plane nodes, routed as a client's
 * calls are (function affinity, failover): how router mode serves the
 * agent platform.
 */
@Injectable()
export class RoutedFunctionInvoker extends FunctionInvoker {
  constructor(private readonly forwarder: Forwarder) {
    super();
  }

  async invoke(call: FunctionCall): Promise<FunctionOutcome> {
    const method = methods['Invoke']!;
    const answer = method.responseDeserialize(
      await this.forwarder.request(
        routes.invoke,
        method.requestSerialize(invokeRequest(call)),
        metadataOf(call.correlationId, call.authorization),
        call.deadline,
      ),
    ) as dataPlane.InvokeResponse;
    return { invocationId: answer.requestId, output: Buffer.from(answer.output), error: answer.error };
  }

  async *stream(call: FunctionCall, signal: AbortSignal): AsyncIterable<FunctionStreamItem> {
    const method = methods['InvokeStream']!;
    for await (const bytes of this.forwarder.stream(
      routes.stream,
      method.requestSerialize(invokeRequest(call)),
      metadataOf(call.correlationId, call.authorization),
      call.deadline,
      signal,
    )) {
      const chunk = method.responseDeserialize(bytes) as dataPlane.InvokeStreamChunk;
      if (chunk.data.length > 0 || chunk.error) yield { data: Buffer.from(chunk.data), error: chunk.error };
    }
  }

  async enqueue(call: QueuedFunctionCall): Promise<string> {
    const method = methods['InvokeAsync']!;
    const request: dataPlane.InvokeAsyncRequest = {
      function: call.functionName,
      payload: call.payload,
      maxAttempts: 0,
      backoffBaseMs: 0,
      backoffMaxMs: 0,
      idempotencyKey: call.idempotencyKey,
      version: 0,
    };
    const answer = method.responseDeserialize(
      await this.forwarder.request(
        routes.enqueue,
        method.requestSerialize(request),
        metadataOf(call.correlationId, call.authorization),
      ),
    ) as dataPlane.InvokeAsyncResponse;
    return answer.invocationId;
  }

  async invocation(id: string, authorization: string): Promise<InvocationState> {
    const method = methods['GetInvocation']!;
    const log = method.responseDeserialize(
      await this.forwarder.request(routes.invocation, method.requestSerialize({ id }), metadataOf('', authorization)),
    ) as dataPlane.InvocationLog;
    return {
      id: log.id,
      status: log.status,
      attempts: log.attempts,
      maxAttempts: log.maxAttempts,
      output: Buffer.from(log.output),
      error: log.error,
      progress: log.progress,
    };
  }
}
