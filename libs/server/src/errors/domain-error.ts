/**
 * What kind of failure an error is, in words every feature shares. The
 * status filter maps each kind to exactly one gRPC status code; nothing else
 * knows about gRPC statuses.
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'aborted'
  | 'unauthenticated'
  | 'permission_denied'
  | 'resource_exhausted'
  | 'deadline_exceeded'
  | 'unavailable'
  | 'unimplemented';

/**
 * Base of every error a caller should see as it is. Each feature has one
 * errors file with a code enum and a subclass of this (see
 * invoke/invoke.errors.ts); features do not throw DomainError itself.
 */
export class DomainError<Code extends string = string> extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** The feature's code for this error, e.g. QUEUE_FULL; the kind in capitals when a feature has none. */
    readonly code: Code = kind.toUpperCase() as Code,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The base class of one feature's errors, from its code → kind table:
 * `class PoolError extends errorClassFor(kinds) {}`, then `new PoolError(code, message)`.
 */
export function errorClassFor<Code extends string>(
  kinds: Record<Code, ErrorKind>,
): new (code: Code, message: string) => DomainError<Code> {
  return class extends DomainError<Code> {
    constructor(code: Code, message: string) {
      super(kinds[code], message, code);
    }
  };
}
