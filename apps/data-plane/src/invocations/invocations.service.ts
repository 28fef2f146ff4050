import { Injectable } from '@nestjs/common';
import {
  InvocationsRepository,
  invocationStatuses,
  type InvocationDetail,
  type InvocationMetrics,
  type InvocationStatus,
} from '#storage';
import { InvalidArgumentError, checkListPage } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRecorder } from './invocation-recorder.js';
import { invocationsErrors } from './invocations.errors.js';

const LIST_PAGE = { default: 100, max: 1000 };
const METRICS_DEFAULT_RANGE_S = 3600;
const METRICS_MAX_RANGE_S = 90 * 24 * 3600;

/** Which invocations a listing wants. */
export interface InvocationQuery {
  functionName: string;
  status: string;
  limit: number;
  offset: number;
}

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

  /** Newest first; an empty function or status matches every one. */
  async list(query: InvocationQuery): Promise<{ invocations: InvocationDetail[]; total: number }> {
    const { functionName, status } = query;
    const page = checkListPage(query.limit, query.offset, LIST_PAGE);
    if (status !== '' && !(invocationStatuses as readonly string[]).includes(status)) {
      throw new InvalidArgumentError('status', `"${status}" is not a status; one of ${invocationStatuses.join(', ')}`);
    }
    await this.recorder.flush();
    return this.invocations.list(
      { ...(functionName ? { functionName } : {}), ...(status ? { status: status as InvocationStatus } : {}) },
      page.limit,
      page.offset,
    );
  }

  async get(id: string): Promise<InvocationDetail> {
    if (id === '') throw new InvalidArgumentError('id', 'is required');
    await this.recorder.flush();
    const found = await this.invocations.find(id);
    if (!found) throw invocationsErrors.notFound(id);
    return found;
  }

  async metrics(functionName: string, rangeSeconds: number): Promise<InvocationMetrics> {
    if (!Number.isInteger(rangeSeconds) || rangeSeconds < 0 || rangeSeconds > METRICS_MAX_RANGE_S) {
      throw new InvalidArgumentError(
        'range_seconds',
        `must be 0 to ${METRICS_MAX_RANGE_S} (got ${rangeSeconds}); 0 means 3600`,
      );
    }
    if (functionName) await this.catalog.require(functionName);
    await this.recorder.flush();
    return this.invocations.metrics(functionName || undefined, rangeSeconds || METRICS_DEFAULT_RANGE_S);
  }
}
