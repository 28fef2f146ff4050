import { randomUUID } from 'node:crypto';
import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  StateRepository,
  type JsonObject,
  type StateEntryRecord,
  type StateEvent,
  type StateKey,
  type StateValue,
  type TransactionProblem,
} from '#storage';
import { InvalidArgumentError, JsonLogger, Periodic } from '#server';
import { stateErrors } from './state.errors.js';
import {
  checkAgentId,
  checkStateKey,
  checkTimeoutMs,
  checkTransactionId,
  checkValue,
  isTransactionId,
  stateLimits,
} from './state.rules.js';

/** Events read per query while replaying: memory stays flat however long the log. */
const REPLAY_PAGE = 500;
const SWEEP_EVERY_MS = 10_000;

/** A Write or Delete as a client asks for it. */
export interface StateOperation extends StateKey {
  txnId: string;
  kind: 'write' | 'delete';
  /** Required for a write; none for a delete. */
  value: JsonObject | undefined;
  expectedVersion: number | undefined;
}

export interface ReplayQuery {
  namespace: string;
  agentId: string;
  startTs: number | undefined;
  endTs: number | undefined;
}

/**
 * statehouse.v1's behaviour: every rule checked here, every write through
 * StateRepository. Nothing of a transaction is held in this process, so
 * its calls may go to any Nova process.
 */
@Injectable()
export class StateService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new JsonLogger('state');
  private readonly sweeper = new Periodic(SWEEP_EVERY_MS, () => this.sweep());

  constructor(private readonly state: StateRepository) {}

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  onApplicationShutdown(): void {
    this.sweeper.stop();
  }

  private async sweep(): Promise<void> {
    try {
      const forgotten = await this.state.sweep();
      if (forgotten > 0) this.logger.debug('swept finished and expired transactions', { forgotten });
    } catch (error) {
      this.logger.warn('could not sweep transactions', { error: (error as Error).message });
    }
  }

  async begin(timeoutMs: number | undefined): Promise<string> {
    const txnId = randomUUID();
    await this.state.begin(txnId, checkTimeoutMs(timeoutMs));
    return txnId;
  }

  async stage(operation: StateOperation): Promise<void> {
    const txnId = checkTransactionId(operation.txnId);
    checkStateKey(operation);
    const value = operation.kind === 'write' ? checkValue(operation.value) : undefined;
    const expected = operation.expectedVersion;
    if (expected !== undefined && (!Number.isInteger(expected) || expected < 0)) {
      throw new InvalidArgumentError('expected_version', `must be 0 or a version (got ${expected})`);
    }
    if (!isTransactionId(txnId)) throw stateErrors.txnNotFound(txnId);
    const problem = await this.state.stage(txnId, {
      namespace: operation.namespace,
      agentId: operation.agentId,
      key: operation.key,
      value,
      expectedVersion: expected,
    });
    if (problem) throw this.errorOf(txnId, problem);
  }

  async commit(txnId: string): Promise<number> {
    checkTransactionId(txnId);
    if (!isTransactionId(txnId)) throw stateErrors.txnNotFound(txnId);
    const result = await this.state.commit(txnId);
    if (typeof result === 'string') throw this.errorOf(txnId, result);
    if ('conflict' in result) {
      const { key, expected, actual } = result.conflict;
      throw stateErrors.conflict(key, expected, actual);
    }
    return result.commitTs;
  }

  async abort(txnId: string): Promise<void> {
    checkTransactionId(txnId);
    if (!isTransactionId(txnId)) throw stateErrors.txnNotFound(txnId);
    const problem = await this.state.abort(txnId);
    if (problem) throw this.errorOf(txnId, problem);
  }

  get(key: StateKey): Promise<StateValue> {
    return this.state.get(checkStateKey(key));
  }

  async getAtVersion(key: StateKey, version: number): Promise<StateValue> {
    checkStateKey(key);
    if (!Number.isInteger(version) || version < 1) {
      throw new InvalidArgumentError('version', `must be 1 or more (got ${version})`);
    }
    const found = await this.state.getAtVersion(key, version);
    if (!found) throw stateErrors.versionNotFound(key.key, version);
    return found;
  }

  history(key: StateKey): Promise<StateValue[]> {
    return this.state.history(checkStateKey(key));
  }

  listKeys(namespace: string, agentId: string): Promise<string[]> {
    return this.state.listKeys(namespace, checkAgentId(agentId));
  }

  scanPrefix(namespace: string, agentId: string, prefix: string): Promise<StateEntryRecord[]> {
    return this.state.scanPrefix(namespace, checkAgentId(agentId), prefix);
  }

  /**
   * The agent's events from startTs to endTs (both included), read a page
   * at a time: the caller's pace (flow control) decides when the next page
   * is read. Without endTs it stops at the end as of the call.
   */
  async *replay(query: ReplayQuery): AsyncGenerator<StateEvent> {
    checkAgentId(query.agentId);
    let after = Math.max(0, (query.startTs ?? 0) - 1);
    for (;;) {
      const page = await this.state.events(query.namespace, query.agentId, after, query.endTs, REPLAY_PAGE);
      for (const event of page) yield event;
      if (page.length < REPLAY_PAGE) return;
      after = page.at(-1)!.commitTs;
    }
  }

  private errorOf(txnId: string, problem: TransactionProblem): Error {
    switch (problem) {
      case 'unknown':
        return stateErrors.txnNotFound(txnId);
      case 'expired':
        return stateErrors.txnExpired(txnId);
      case 'committed':
        return stateErrors.txnCommitted(txnId);
      case 'aborted':
        return stateErrors.txnAborted(txnId);
      case 'too_many_operations':
        return stateErrors.tooManyOperations(stateLimits.operationsPerTransaction);
    }
  }
}
