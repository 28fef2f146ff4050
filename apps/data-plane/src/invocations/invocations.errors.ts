import { errorClassFor, type ErrorKind } from '#server';

export enum InvocationsErrorCode {
  NotFound = 'INVOCATION_NOT_FOUND',
}

const kinds = {
  [InvocationsErrorCode.NotFound]: 'not_found',
} as const satisfies Record<InvocationsErrorCode, ErrorKind>;

export class InvocationsError extends errorClassFor(kinds) {}

export const invocationsErrors = {
  notFound: (id: string) => new InvocationsError(InvocationsErrorCode.NotFound, `invocation "${id}" not found`),
};
