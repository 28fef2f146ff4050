import { InvalidArgumentError, errorClassFor, type ErrorKind } from '#server';
import { apiLimits, formatBytes } from '#proto';

/** How a call's own attempt went wrong in a way the caller sees as a status code. */
export enum InvokeErrorCode {
  Timeout = 'TIMEOUT',
  MemoryLimit = 'MEMORY_LIMIT',
  OutputTooLarge = 'OUTPUT_TOO_LARGE',
}

const kinds = {
  [InvokeErrorCode.Timeout]: 'deadline_exceeded',
  [InvokeErrorCode.MemoryLimit]: 'resource_exhausted',
  [InvokeErrorCode.OutputTooLarge]: 'resource_exhausted',
} as const satisfies Record<InvokeErrorCode, ErrorKind>;

export class InvokeError extends errorClassFor(kinds) {}

const payloadLimit = `${apiLimits.payloadBytes} bytes (${formatBytes(apiLimits.payloadBytes)})`;

export const invokeErrors = {
  timeout: (name: string, timeoutMs: number) =>
    new InvokeError(
      InvokeErrorCode.Timeout,
      `function "${name}" did not finish within ${timeoutMs / 1000} s; its instance was stopped`,
    ),
  memoryLimit: (name: string, memoryMb: number, detail: string) =>
    new InvokeError(
      InvokeErrorCode.MemoryLimit,
      `function "${name}" exceeded its memory limit of ${memoryMb} MiB (${detail}); its instance was replaced`,
    ),
  outputTooLarge: (name: string, detail: string) =>
    new InvokeError(
      InvokeErrorCode.OutputTooLarge,
      `function "${name}" returned too much: ${detail}; at most ${payloadLimit}`,
    ),
  payloadTooLarge: (bytes: number) =>
    new InvalidArgumentError(
      'payload',
      `is ${bytes} bytes; at most ${apiLimits.payloadBytes} (${formatBytes(apiLimits.payloadBytes)})`,
    ),
};
