import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AsyncQueueRepository, type InvocationStatus } from '#storage';
import { InvalidArgumentError } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { checkCallInput } from '../invoke/invoke.rules.js';

const MAX_ATTEMPTS_LIMIT = 10;
const DEFAULT_MAX_ATTEMPTS = 3;
/** Retry backoff when the caller names none; workflows retry failed runs with it too. */
export const DEFAULT_BACKOFF_BASE_MS = 1000;
export const DEFAULT_BACKOFF_MAX_MS = 60_000;
const BACKOFF_LIMIT_MS = 24 * 3600 * 1000;
const IDEMPOTENCY_KEY_MAX = 256;

/** An asynchronous call as the caller asked for it; zeros mean the defaults. */
/** max_attempts as a caller gives it (0: the default of 3), checked; shared by InvokeAsync and workflows. */
export function checkMaxAttempts(requested: number): number {
  const maxAttempts = requested === 0 ? DEFAULT_MAX_ATTEMPTS : requested;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS_LIMIT) {
    throw new InvalidArgumentError(
      'max_attempts',
      `must be 1 to ${MAX_ATTEMPTS_LIMIT} (got ${requested}); 0 means ${DEFAULT_MAX_ATTEMPTS}`,
    );
  }
  return maxAttempts;
}

export interface AsyncCall {
  /** The call's x-request-id. */
  correlationId: string;
  /** "name", or "name:qualifier" (version, alias, latest) as for Invoke. */
  functionName: string;
  /** 0: the one functionName names. */
  version: number;
  payload: Uint8Array;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Empty for none. */
  idempotencyKey: string;
  /** The call's W3C trace context: every attempt continues it. */
  traceparent?: string;
}

/** InvokeAsync: checks the request and stores it durably; workers run it. */
@Injectable()
export class AsyncInvocationsService {
  constructor(
    private readonly catalog: FunctionCatalog,
    private readonly queue: AsyncQueueRepository,
  ) {}

  async enqueue(request: AsyncCall): Promise<{ id: string; status: InvocationStatus }> {
    checkCallInput(request.functionName, request.payload);
    const maxAttempts = checkMaxAttempts(request.maxAttempts);
    const backoffBaseMs = request.backoffBaseMs === 0 ? DEFAULT_BACKOFF_BASE_MS : request.backoffBaseMs;
    if (!Number.isInteger(backoffBaseMs) || backoffBaseMs < 1 || backoffBaseMs > BACKOFF_LIMIT_MS) {
      throw new InvalidArgumentError(
        'backoff_base_ms',
        `must be 1 to ${BACKOFF_LIMIT_MS} (got ${request.backoffBaseMs})`,
      );
    }
    const backoffMaxMs =
      request.backoffMaxMs === 0 ? Math.max(DEFAULT_BACKOFF_MAX_MS, backoffBaseMs) : request.backoffMaxMs;
    if (!Number.isInteger(backoffMaxMs) || backoffMaxMs < backoffBaseMs || backoffMaxMs > BACKOFF_LIMIT_MS) {
      throw new InvalidArgumentError(
        'backoff_max_ms',
        `must be from backoff_base_ms (${backoffBaseMs}) to ${BACKOFF_LIMIT_MS} (got ${request.backoffMaxMs})`,
      );
    }
    if (request.idempotencyKey.length > IDEMPOTENCY_KEY_MAX) {
      throw new InvalidArgumentError('idempotency_key', `must be at most ${IDEMPOTENCY_KEY_MAX} characters`);
    }
    const record = await this.catalog.resolve(request.functionName, request.version);
    // A version or an alias is chosen now, once: every attempt runs the same one.
    const qualifier = request.functionName.slice(record.name.length + 1);
    const pinned = request.version !== 0 || (qualifier !== '' && qualifier !== 'latest');
    const stored = await this.queue.enqueue({
      id: randomUUID(),
      correlationId: request.correlationId,
      functionName: record.name,
      version: record.version,
      ...(pinned ? { pinnedVersion: record.version } : {}),
      payload: Buffer.from(request.payload),
      maxAttempts,
      backoffBaseMs,
      backoffMaxMs,
      idempotencyKey: request.idempotencyKey,
      ...(request.traceparent ? { traceparent: request.traceparent } : {}),
    });
    return { id: stored.id, status: stored.status };
  }
}
