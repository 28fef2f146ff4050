import { errorClassFor, type ErrorKind } from '../errors/domain-error.js';

export enum AuthErrorCode {
  MissingKey = 'API_KEY_MISSING',
  UnknownKey = 'API_KEY_UNKNOWN',
  ScopeTooNarrow = 'API_KEY_SCOPE',
}

const kinds = {
  [AuthErrorCode.MissingKey]: 'unauthenticated',
  [AuthErrorCode.UnknownKey]: 'unauthenticated',
  [AuthErrorCode.ScopeTooNarrow]: 'permission_denied',
} as const satisfies Record<AuthErrorCode, ErrorKind>;

export class AuthError extends errorClassFor(kinds) {}

export const authErrors = {
  missingKey: () =>
    new AuthError(AuthErrorCode.MissingKey, 'missing API key: send the metadata "authorization: Bearer <key>"'),
  unknownKey: () => new AuthError(AuthErrorCode.UnknownKey, 'unknown or revoked API key'),
  scopeTooNarrow: (required: string, held: string) =>
    new AuthError(
      AuthErrorCode.ScopeTooNarrow,
      `this call needs a key with the "${required}" scope; this key has "${held}"`,
    ),
};
