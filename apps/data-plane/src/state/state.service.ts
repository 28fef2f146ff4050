import { randomUUID } from 'node:crypto';
import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  NotificationListener,
  StateRepository,
  notifyChannels,
  type CommitNotice,
  type JsonObject,
  type StateEntryRecord,
  type StateEvent,
  type StateKey,
  type StateValue,
  type TransactionProblem,
} from '#storage';
import { InvalidArgumentError, JsonLogger, Periodic } from '#server';
import { stateErrors } from './state.errors.js';
import { StateMetrics } from './state-metrics.js';
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
  /** After the history, wait for new commits until the signal aborts. */
  follow: boolean;
}

/** A txn_id that is not a UUID names no transaction Nova could have begun: NOT_FOUND, as for an unknown one. */
function checkKnownShape(txnId: string): void {
  if (!isTransactionId(txnId)) throw stateErrors.txnNotFound(txnId);
}

/** A level-triggered bell: a ring while nobody waits is kept for the next wait. */
class Bell {
  private rung = false;
  private waiting: (() => void) | undefined;

  ring(): void {
    this.rung = true;
    this.waiting?.();
  }

  async wait(signal: AbortSignal): Promise<void> {
    if (!this.rung && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.waiting = wake;
        signal.addEventListener('abort', wake, { once: true });
      });
      this.waiting = undefined;
    }
    this.rung = false;
  }
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

  constructor(
    private readonly state: StateRepository,
    private readonly listener: NotificationListener,
    private readonly metrics: StateMetrics,
  ) {}

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
    checkKnownShape(txnId);
    const problem = await this.state.stage(txnId, {
      namespace: operation.namespace,
      agentId: operation.agentId,
      key: operation.key,
      value,
      expectedVersion: expected,
    });
    if (problem) throw this.errorOf(txnId, problem);
    this.metrics.operation(operation.kind === 'write' ? 'put' : 'delete');
  }

  async commit(txnId: string): Promise<number> {
    checkTransactionId(txnId);
    checkKnownShape(txnId);
    const result = await this.state.commit(txnId);
    if (typeof result === 'string') {
      this.metrics.transaction('failed');
      throw this.errorOf(txnId, result);
    }
    if ('conflict' in result) {
      this.metrics.transaction('conflict');
      const { key, expected, actual } = result.conflict;
      throw stateErrors.conflict(key, expected, actual);
    }
    this.metrics.transaction('committed');
    return result.commitTs;
  }

  async abort(txnId: string): Promise<void> {
    checkTransactionId(txnId);
    checkKnownShape(txnId);
    const problem = await this.state.abort(txnId);
    if (problem) throw this.errorOf(txnId, problem);
    this.metrics.transaction('aborted');
  }

  get(key: StateKey): Promise<StateValue> {
    checkStateKey(key);
    this.metrics.operation('get');
    return this.state.get(key);
  }

  async getAtVersion(key: StateKey, version: number): Promise<StateValue> {
    checkStateKey(key);
    if (!Number.isInteger(version) || version < 1) {
      throw new InvalidArgumentError('version', `must be 1 or more (got ${version})`);
    }
    this.metrics.operation('get_version');
    const found = await this.state.getAtVersion(key, version);
    if (!found) throw stateErrors.versionNotFound(key.key, version);
    return found;
  }

  history(key: StateKey): Promise<StateValue[]> {
    checkStateKey(key);
    this.metrics.operation('history');
    return this.state.history(key);
  }

  listKeys(namespace: string, agentId: string): Promise<string[]> {
    checkAgentId(agentId);
    this.metrics.operation('list_keys');
    return this.state.listKeys(namespace, agentId);
  }

  scanPrefix(namespace: string, agentId: string, prefix: string): Promise<StateEntryRecord[]> {
    checkAgentId(agentId);
    this.metrics.operation('scan');
    return this.state.scanPrefix(namespace, agentId, prefix);
  }

  /**
   * The agent's events from startTs to endTs (both included), a page at a
   * time: the caller's pace (flow control) decides when the next page is
   * read, and it writes a page out whole (one pass of the event loop, few
   * socket writes) before it waits. Without endTs it stops at the end as of the call, unless
   * follow: then it waits for the agent's new commits until the signal
   * aborts. It listens before reading the history and asks for everything
   * after the last event it gave, so the seam has no gap and no duplicate
   * (commit_ts follows commit order, so nothing can commit below it).
   */
  async *replay(query: ReplayQuery, signal: AbortSignal): AsyncGenerator<StateEvent[]> {
    checkAgentId(query.agentId);
    this.metrics.operation('replay');
    const bell = new Bell();
    const stops: (() => void)[] = [];
    if (query.follow && query.endTs === undefined) {
      stops.push(
        await this.listener.subscribe(notifyChannels.stateCommits, (payload) => {
          const { agents } = JSON.parse(payload) as CommitNotice;
          const mine = agents?.some(([namespace, agent]) => namespace === query.namespace && agent === query.agentId);
          if (agents === null || mine) bell.ring();
        }),
        // Notifications sent while the listener reconnected are lost: look again.
        this.listener.onReconnect(() => bell.ring()),
      );
    }
    try {
      let after = Math.max(0, (query.startTs ?? 0) - 1);
      for (;;) {
        for (;;) {
          const page = await this.state.events(query.namespace, query.agentId, after, query.endTs, REPLAY_PAGE);
          if (signal.aborted) return;
          if (page.length > 0) {
            after = page[page.length - 1]!.commitTs;
            yield page;
          }
          if (page.length < REPLAY_PAGE) break;
        }
        if (stops.length === 0) return;
        await bell.wait(signal);
        if (signal.aborted) return;
      }
    } finally {
      for (const stop of stops) stop();
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
