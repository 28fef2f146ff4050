import type { ServerStream } from '#proto';
import { toNovaError } from './errors.js';

/**
 * Reads a server stream as the loop asks for it, with the SDK's errors;
 * leaving the loop or aborting the signal cancels the call.
 */
export async function* streamed<T>(stream: ServerStream<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  const cancel = (): void => stream.cancel();
  if (signal?.aborted) {
    stream.cancel();
    return;
  }
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    yield* stream;
  } catch (error) {
    if (signal?.aborted) return;
    throw toNovaError(error);
  } finally {
    signal?.removeEventListener('abort', cancel);
    stream.cancel();
  }
}
