import { Metadata, type StatusObject, status as GrpcStatus } from '@grpc/grpc-js';
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
 * becomes a marker instead of an exception, which the call interceptor
 * answers with INVALID_ARGUMENT (malformedRequestStatus).
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

/** The status for a request that could not be decoded, or undefined for a good one. */
export function malformedRequestStatus(path: string, message: unknown): StatusObject | undefined {
  if (!isMalformed(message)) return undefined;
  return {
    code: GrpcStatus.INVALID_ARGUMENT,
    details: `the request is not a valid protobuf message for ${path}: ${message[MALFORMED].slice(0, 200)}`,
    metadata: new Metadata(),
  };
}
