import { Injectable } from '@nestjs/common';
import {
  InvocationsRepository,
  invocationStatuses,
  type InvocationDetail,
  type InvocationMetrics,
  type InvocationStatus,
} from '#storage';
import { DomainError, InvalidArgumentError } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRecorder } from './invocation-recorder.js';

const LIST_DEFAULT = 100;
const LIST_MAX = 1000;
const METRICS_DEFAULT_RANGE_S = 3600;
const METRICS_MAX_RANGE_S = 90 * 24 * 3600;

/**
 * Reads invocation history. Each read first writes what this node has
 * buffered, so a caller sees its own calls at once.
 */
@Injectable()
export class InvocationsService {
  constructor(
    private readonly invocations: InvocationsRepository,
    private readonly recorder: InvocationRecorder,
    private readonly catalog: FunctionCatalog,
  ) {}

  async list(
    functionName: string,
    status: string,
    limit: number,
    offset: number,
  ): Promise<{ invocations: InvocationDetail[]; total: number }> {
    if (!Number.isInteger(limit) || limit < 0 || limit > LIST_MAX) {
      throw new InvalidArgumentError('limit', `must be 0 to ${LIST_MAX} (got ${limit}); 0 means ${LIST_DEFAULT}`);
    }
    if (!Number.isInteger(offset) || offset < 0)
      throw new InvalidArgumentError('offset', `must be 0 or more (got ${offset})`);
    if (status !== '' && !(invocationStatuses as readonly string[]).includes(status)) {
      throw new InvalidArgumentError('status', `"${status}" is not a status; one of ${invocationStatuses.join(', ')}`);
    }
    await this.recorder.flush();
    return this.invocations.list(
      { ...(functionName ? { functionName } : {}), ...(status ? { status: status as InvocationStatus } : {}) },
      limit || LIST_DEFAULT,
      offset,
    );
  }

  async get(id: string): Promise<InvocationDetail> {
    if (id === '') throw new InvalidArgumentError('id', 'is required');
    await this.recorder.flush();
    const found = await this.invocations.find(id);
    if (!found) throw new DomainError('not_found', `invocation "${id}" not found`);
    return found;
  }

  async metrics(functionName: string, rangeSeconds: number): Promise<InvocationMetrics> {
    if (!Number.isInteger(rangeSeconds) || rangeSeconds < 0 || rangeSeconds > METRICS_MAX_RANGE_S) {
      throw new InvalidArgumentError(
        'range_seconds',
        `must be 0 to ${METRICS_MAX_RANGE_S} (got ${rangeSeconds}); 0 means 3600`,
      );
    }
    if (functionName && !(await this.catalog.get(functionName))) {
      throw new DomainError('not_found', `function "${functionName}" not found`);
    }
    await this.recorder.flush();
    return this.invocations.metrics(functionName || undefined, rangeSeconds || METRICS_DEFAULT_RANGE_S);
  }
}
