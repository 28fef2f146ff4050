import type { Metadata } from '@grpc/grpc-js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** The request id the call-logging interceptor put on (or found in) the call's metadata. */
export function requestIdOf(metadata: Metadata | undefined): string {
  const value = metadata?.get(REQUEST_ID_HEADER)[0];
  return typeof value === 'string' ? value : '';
}
