import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
import { status as GrpcStatus, type Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import { type Observable, throwError } from 'rxjs';
import { isDatabaseUnavailable } from '#storage';
import { DomainError, type ErrorKind } from './domain-error.js';
import { JsonLogger } from '../logging/json-logger.js';
import { requestIdOf } from '../logging/request-id.js';

/** What grpc-js turns into a status: a code and its details. */
export interface GrpcStatusError {
  code: GrpcStatus;
  details: string;
}

/** The one mapping from a domain error's kind to a gRPC status code. */
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
    case 'aborted':
      return GrpcStatus.ABORTED;
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

/**
 * Domain errors keep their message; a database that cannot be reached is
 * UNAVAILABLE, which clients retry; anything else is a bug, and the caller
 * learns only that it was internal, with the request id to quote.
 */
export function statusErrorFor(exception: unknown, requestId: string): GrpcStatusError {
  if (exception instanceof DomainError) return { code: toGrpcStatus(exception.kind), details: exception.message };
  if (isDatabaseUnavailable(exception)) {
    return {
      code: GrpcStatus.UNAVAILABLE,
      details: `the database is unreachable; try again${requestId ? ` (request id ${requestId})` : ''}`,
    };
  }
  return { code: GrpcStatus.INTERNAL, details: `internal error${requestId ? ` (request id ${requestId})` : ''}` };
}

/** The one place where errors thrown by handlers and guards become gRPC statuses. */
@Catch()
export class GrpcStatusFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new JsonLogger('errors');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const [, metadata, call] =
      host.getArgs<[unknown, Metadata | undefined, ServerUnaryCall<unknown, unknown> | undefined]>();
    const requestId = requestIdOf(metadata);
    const statusError = statusErrorFor(exception, requestId);
    if (statusError.code === GrpcStatus.INTERNAL) {
      this.logger.error('unhandled error', {
        requestId,
        method: typeof call?.getPath === 'function' ? call.getPath() : undefined,
        error: exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      });
    }
    return throwError(() => statusError);
  }
}
