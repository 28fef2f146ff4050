import { DomainError, type ErrorKind } from '#server';

export enum InvocationsErrorCode {
  NotFound = 'INVOCATION_NOT_FOUND',
}

const kinds = {
  [InvocationsErrorCode.NotFound]: 'not_found',
} as const satisfies Record<InvocationsErrorCode, ErrorKind>;

export class InvocationsError extends DomainError<InvocationsErrorCode> {
  constructor(code: InvocationsErrorCode, message: string) {
    super(kinds[code], message, code);
  }
}

export const invocationsErrors = {
  notFound: (id: string) => new InvocationsError(InvocationsErrorCode.NotFound, `invocation "${id}" not found`),
};
