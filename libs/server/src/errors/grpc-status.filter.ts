import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
import { status as GrpcStatus, type ServerUnaryCall } from '@grpc/grpc-js';
import { type Observable, throwError } from 'rxjs';
import { DomainError, toGrpcStatus } from './domain-error.js';
import { JsonLogger } from '../logging/json-logger.js';
import { REQUEST_ID_HEADER } from '../logging/request-id.js';

/** What grpc-js turns into a status: a code and its details. */
export interface GrpcStatusError {
  code: GrpcStatus;
  details: string;
}

/**
 * The one place where errors become gRPC statuses. Domain errors keep their
 * message; anything else is a bug or an outage: it is logged in full with the
 * request id and the caller sees only INTERNAL with a generic message.
 */
@Catch()
export class GrpcStatusFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new JsonLogger('errors');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    return throwError(() => this.toStatusError(exception, host));
  }

  private toStatusError(exception: unknown, host: ArgumentsHost): GrpcStatusError {
    if (exception instanceof DomainError) {
      return { code: toGrpcStatus(exception.kind), details: exception.message };
    }
    const call = host.switchToRpc().getContext<unknown>();
    const requestId = readRequestId(call);
    const [, , unaryCall] = host.getArgs<[unknown, unknown, ServerUnaryCall<unknown, unknown> | undefined]>();
    this.logger.error('unhandled error', {
      requestId,
      method: typeof unaryCall?.getPath === 'function' ? unaryCall.getPath() : undefined,
      error: exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    });
    return {
      code: GrpcStatus.INTERNAL,
      details: `internal error${requestId ? ` (request id ${requestId})` : ''}`,
    };
  }
}

function readRequestId(metadata: unknown): string | undefined {
  if (metadata && typeof metadata === 'object' && 'get' in metadata && typeof metadata.get === 'function') {
    const value: unknown = (metadata.get as (key: string) => unknown[])(REQUEST_ID_HEADER)[0];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}
