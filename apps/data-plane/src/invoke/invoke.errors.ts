import { DomainError, InvalidArgumentError } from '#server';

export const PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;

export class UnknownFunctionError extends DomainError {
  constructor(name: string) {
    super('not_found', `function "${name}" not found`);
  }
}

export class PayloadTooLargeError extends InvalidArgumentError {
  constructor(bytes: number) {
    super('payload', `is ${bytes} bytes; at most ${PAYLOAD_LIMIT_BYTES} (6 MiB)`);
  }
}

export class InvocationTimeoutError extends DomainError {
  constructor(name: string, timeoutMs: number) {
    super(
      'deadline_exceeded',
      `function "${name}" did not finish within ${timeoutMs / 1000} s; its instance was stopped`,
    );
  }
}

export class MemoryLimitError extends DomainError {
  constructor(name: string, memoryMb: number, detail: string) {
    super(
      'resource_exhausted',
      `function "${name}" exceeded its memory limit of ${memoryMb} MiB (${detail}); its instance was replaced`,
    );
  }
}

export class OutputTooLargeError extends DomainError {
  constructor(name: string, detail: string) {
    super(
      'resource_exhausted',
      `function "${name}" returned too much: ${detail}; at most ${PAYLOAD_LIMIT_BYTES} bytes (6 MiB)`,
    );
  }
}
