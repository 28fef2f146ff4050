import { DomainError, type ErrorKind } from './domain-error.js';

/** Errors that every plane raises: a bad request field, a function that does not exist. */
export enum CommonErrorCode {
  InvalidArgument = 'INVALID_ARGUMENT',
  FunctionNotFound = 'FUNCTION_NOT_FOUND',
}

const kinds = {
  [CommonErrorCode.InvalidArgument]: 'invalid_argument',
  [CommonErrorCode.FunctionNotFound]: 'not_found',
} as const satisfies Record<CommonErrorCode, ErrorKind>;

/** A rule about one request field was broken; the message names the field. */
export class InvalidArgumentError extends DomainError<CommonErrorCode> {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(kinds[CommonErrorCode.InvalidArgument], `${field}: ${reason}`, CommonErrorCode.InvalidArgument);
  }
}

export class FunctionNotFoundError extends DomainError<CommonErrorCode> {
  constructor(name: string) {
    super(kinds[CommonErrorCode.FunctionNotFound], `function "${name}" not found`, CommonErrorCode.FunctionNotFound);
  }
}

/** The paging fields of a List call: limit 0 means bounds.default; both are checked here once for every plane. */
export function checkListPage(
  limit: number,
  offset: number,
  bounds: { default: number; max: number },
): { limit: number; offset: number } {
  if (!Number.isInteger(limit) || limit < 0 || limit > bounds.max) {
    throw new InvalidArgumentError('limit', `must be 0 to ${bounds.max} (got ${limit}); 0 means ${bounds.default}`);
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new InvalidArgumentError('offset', `must be 0 or more (got ${offset})`);
  }
  return { limit: limit === 0 ? bounds.default : limit, offset };
}
