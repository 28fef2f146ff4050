import { ServerInterceptingCall, type ServerInterceptor, status as GrpcStatus } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';

const MALFORMED = Symbol('malformed request');

interface MalformedRequest {
  [MALFORMED]: string;
}

function isMalformed(message: unknown): message is MalformedRequest {
  return typeof message === 'object' && message !== null && MALFORMED in message;
}

/**
 * grpc-js answers a request it cannot decode with INTERNAL, which reads as
 * Nova's fault. Each request decoder is wrapped so that a bad message
 * becomes a marker instead of an exception, and malformedRequestInterceptor
 * answers it with INVALID_ARGUMENT.
 */
export function markMalformedRequests(definition: PackageDefinition): void {
  for (const service of Object.values(definition)) {
    // Message and enum types sit beside the services; only services have methods with decoders.
    if ('format' in service) continue;
    for (const method of Object.values(service)) {
      const decode = method.requestDeserialize;
      method.requestDeserialize = (bytes: Buffer): object => {
        try {
          return decode(bytes);
        } catch (error) {
          return { [MALFORMED]: error instanceof Error ? error.message : String(error) } satisfies MalformedRequest;
        }
      };
    }
  }
}

/** Ends a call whose request could not be decoded with INVALID_ARGUMENT (see markMalformedRequests). */
export const malformedRequestInterceptor: ServerInterceptor = (methodDescriptor, call) =>
  new ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMessage(message: unknown, messageNext) {
          if (!isMalformed(message)) {
            messageNext(message);
            return;
          }
          call.sendStatus({
            code: GrpcStatus.INVALID_ARGUMENT,
            details: `the request is not a valid protobuf message for ${methodDescriptor.path}: ${message[MALFORMED].slice(0, 200)}`,
          });
        },
      });
    },
  });
