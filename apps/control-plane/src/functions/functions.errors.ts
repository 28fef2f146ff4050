import { errorClassFor, type ErrorKind } from '#server';

/** Errors of the functions feature beyond the shared ones (FunctionNotFoundError, InvalidArgumentError in #server). */
export enum FunctionsErrorCode {
  AlreadyExists = 'FUNCTION_EXISTS',
}

const kinds = {
  [FunctionsErrorCode.AlreadyExists]: 'already_exists',
} as const satisfies Record<FunctionsErrorCode, ErrorKind>;

export class FunctionsError extends errorClassFor(kinds) {}

export const functionsErrors = {
  alreadyExists: (name: string) =>
    new FunctionsError(FunctionsErrorCode.AlreadyExists, `function "${name}" already exists`),
};
