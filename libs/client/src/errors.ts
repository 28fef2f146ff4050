import { status } from '@grpc/grpc-js';

/**
 * What every failure of the SDK is. `code` is the gRPC status name
 * (NOT_FOUND, ABORTED, ...), so callers can branch without gRPC's types.
 */
export class NovaError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** What was asked for does not exist (a key's version, a function). */
export class NotFoundError extends NovaError {}

/** What was asked to be created exists already (a function's name). */
export class AlreadyExistsError extends NovaError {}

/** A transaction cannot go on: unknown, expired, already committed or aborted, or refused. */
export class TransactionError extends NovaError {}

/** A transaction's expected versions no longer held at commit: nothing was applied. Run it again. */
export class ConflictError extends TransactionError {}

/** A field of the request was refused; the message names it. */
export class InvalidArgumentError extends NovaError {}

/** The server could not be reached, or is not serving. */
export class ConnectionError extends NovaError {}

/** No API key, or one without the scope the call needs. */
export class AuthError extends NovaError {}

interface GrpcFailure {
  code: status;
  details: string;
}

function isGrpcFailure(error: unknown): error is GrpcFailure {
  return typeof error === 'object' && error !== null && typeof (error as GrpcFailure).code === 'number';
}

/** Which kind of call failed: inside a transaction, statuses about the transaction become TransactionError. */
export type CallKind = 'transaction' | 'other';

/** The SDK's error for a gRPC failure; anything else is returned as it is. */
export function toNovaError(error: unknown, kind: CallKind = 'other'): unknown {
  if (!isGrpcFailure(error)) return error;
  const name = status[error.code] ?? 'UNKNOWN';
  if (!(error.code in status)) return new NovaError(error.details || name, name);
  const message = error.details || name;
  switch (error.code) {
    case status.ABORTED:
      return new ConflictError(message, name);
    case status.INVALID_ARGUMENT:
      return new InvalidArgumentError(message, name);
    case status.UNAVAILABLE:
      return new ConnectionError(message, name);
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return new AuthError(message, name);
    case status.NOT_FOUND:
      return kind === 'transaction' ? new TransactionError(message, name) : new NotFoundError(message, name);
    case status.ALREADY_EXISTS:
      return new AlreadyExistsError(message, name);
    case status.DEADLINE_EXCEEDED:
    case status.FAILED_PRECONDITION:
      return kind === 'transaction' ? new TransactionError(message, name) : new NovaError(message, name);
    case status.OK:
    case status.CANCELLED:
    case status.UNKNOWN:
    case status.RESOURCE_EXHAUSTED:
    case status.OUT_OF_RANGE:
    case status.UNIMPLEMENTED:
    case status.INTERNAL:
    case status.DATA_LOSS:
      return new NovaError(message, name);
  }
}

/** Runs one call and throws the SDK's error for a gRPC failure. */
export async function translated<T>(call: () => Promise<T>, kind: CallKind = 'other'): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toNovaError(error, kind);
  }
}
