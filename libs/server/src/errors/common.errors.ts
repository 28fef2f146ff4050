import { DomainError, type ErrorKind } from './domain-error.js';

/** Errors that every plane raises: a bad request field, a function (version, alias) that does not exist. */
export enum CommonErrorCode {
  InvalidArgument = 'INVALID_ARGUMENT',
  FunctionNotFound = 'FUNCTION_NOT_FOUND',
  VersionNotFound = 'VERSION_NOT_FOUND',
  AliasNotFound = 'ALIAS_NOT_FOUND',
}

const kinds = {
  [CommonErrorCode.InvalidArgument]: 'invalid_argument',
  [CommonErrorCode.FunctionNotFound]: 'not_found',
  [CommonErrorCode.VersionNotFound]: 'not_found',
  [CommonErrorCode.AliasNotFound]: 'not_found',
} as const satisfies Record<CommonErrorCode, ErrorKind>;

/** Throws `error` where an expression is wanted: `(await find(id)) ?? raise(notFound(id))`. */
export function raise(error: Error): never {
  throw error;
}

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

export class VersionNotFoundError extends DomainError<CommonErrorCode> {
  constructor(name: string, version: number) {
    super(
      kinds[CommonErrorCode.VersionNotFound],
      `function "${name}" has no version ${version} (\`nova functions versions ${name}\` lists them)`,
      CommonErrorCode.VersionNotFound,
    );
  }
}

export class AliasNotFoundError extends DomainError<CommonErrorCode> {
  constructor(name: string, alias: string) {
    super(
      kinds[CommonErrorCode.AliasNotFound],
      `function "${name}" has no alias "${alias}" (\`nova functions alias ls ${name}\` lists them)`,
      CommonErrorCode.AliasNotFound,
    );
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
