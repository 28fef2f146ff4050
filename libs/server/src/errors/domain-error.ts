import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * What went wrong, in the domain's words. Each kind maps to exactly one gRPC
 * status code, in toGrpcStatus below and nowhere else.
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'unauthenticated'
  | 'permission_denied'
  | 'resource_exhausted'
  | 'deadline_exceeded'
  | 'unavailable'
  | 'unimplemented';

/** Base of every error that a caller should see as it is. Features subclass it. */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export function toGrpcStatus(kind: ErrorKind): GrpcStatus {
  switch (kind) {
    case 'invalid_argument':
      return GrpcStatus.INVALID_ARGUMENT;
    case 'not_found':
      return GrpcStatus.NOT_FOUND;
    case 'already_exists':
      return GrpcStatus.ALREADY_EXISTS;
    case 'failed_precondition':
      return GrpcStatus.FAILED_PRECONDITION;
    case 'unauthenticated':
      return GrpcStatus.UNAUTHENTICATED;
    case 'permission_denied':
      return GrpcStatus.PERMISSION_DENIED;
    case 'resource_exhausted':
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 'deadline_exceeded':
      return GrpcStatus.DEADLINE_EXCEEDED;
    case 'unavailable':
      return GrpcStatus.UNAVAILABLE;
    case 'unimplemented':
      return GrpcStatus.UNIMPLEMENTED;
  }
}

/** A rule about one request field was broken; the message names the field. */
export class InvalidArgumentError extends DomainError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super('invalid_argument', `${field}: ${reason}`);
  }
}
