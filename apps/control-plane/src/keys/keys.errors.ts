import { errorClassFor, type ErrorKind } from '#server';

/** Errors of API key administration beyond the shared ones. */
export enum KeysErrorCode {
  KeyNotFound = 'KEY_NOT_FOUND',
}

const kinds = {
  [KeysErrorCode.KeyNotFound]: 'not_found',
} as const satisfies Record<KeysErrorCode, ErrorKind>;

export class KeysError extends errorClassFor(kinds) {}

export const keysErrors = {
  notFound: (idOrPrefix: string) =>
    new KeysError(KeysErrorCode.KeyNotFound, `no single live key has the id or prefix "${idOrPrefix.slice(0, 80)}"`),
};
