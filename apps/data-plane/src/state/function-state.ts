import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  StateRepository,
  lockFailureOf,
  type AppliedOperation,
  type JsonObject,
  type OpenStateTransaction,
  type StateKey,
} from '#storage';
import { DomainError, InvalidArgumentError, JsonLogger } from '#server';
import type { StateAnswer, StateHandler } from '../pool/instance.js';
import { instanceLimits, type StateRequest, type WorkflowRequest } from '../pool/instance-protocol.js';
import { stateErrors } from './state.errors.js';
import { StateMetrics } from './state-metrics.js';
import { checkStateKey, checkValue, stateLimits } from './state.rules.js';

/** Where function code's state lives unless it names another scope. */
export const DEFAULT_STATE_NAMESPACE = 'default';

/**
 * Transactions function code holds open at once on this node, each on a
 * connection of its own: the rest of the pool (10) stays free for
 * everything else the node does.
 */
const OPEN_TRANSACTIONS_PER_NODE = 4;

/** A waiting line for a fixed number of slots; a wait ends at its deadline. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(count: number) {
    this.free = count;
  }

  async take(deadline: number): Promise<boolean> {
    if (this.free > 0) {
      this.free--;
      return true;
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          this.waiting.splice(this.waiting.indexOf(grant), 1);
          resolve(false);
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiting.push(grant);
    });
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

const logger = new JsonLogger('function-state');

/**
 * State for function code (context.state), over the instance's channel:
 * functions never see the database. One session per call; it is the only
 * way an instance reaches state, and every request is checked as a client's
 * would be.
 */
@Injectable()
export class FunctionStateService {
  private readonly slots = new Slots(OPEN_TRANSACTIONS_PER_NODE);

  constructor(
    private readonly state: StateRepository,
    private readonly metrics: StateMetrics,
  ) {}

  /** The state of one call of `functionName`, until `deadline` (epoch ms). */
  session(functionName: string, deadline: number): FunctionStateSession {
    return new FunctionStateSession(this.state, this.slots, this.metrics, functionName, deadline);
  }
}

/** What a running workflow step has done to state so far. */
interface StepEffects {
  operations: AppliedOperation[];
  /** Keys it wrote (null: deleted), by keyText. */
  written: Map<string, JsonObject | null>;
  /** Keys whose reads it answered from its own writes. */
  overlaid: Set<string>;
}

function keyText(key: StateKey): string {
  return JSON.stringify([key.namespace, key.agentId, key.key]);
}

/** Checks before changes, as one transaction's operations are applied: each check sees the store before the step. */
function checksFirst(step: StepEffects): AppliedOperation[] {
  const seen = new Set<string>();
  const checks = step.operations.filter((op) => {
    if (op.kind !== 'check') return false;
    const key = keyText(op);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return [...checks, ...step.operations.filter((op) => op.kind !== 'check')];
}

interface CommitBody {
  writes: { namespace?: unknown; agentId?: unknown; key?: unknown; value?: unknown }[];
  reads: { namespace?: unknown; agentId?: unknown; key?: unknown; version?: unknown }[];
}

/**
 * Answers one call's state requests. Reads through a transaction open it
 * (one per call at a time) and lock their keys until it ends; the commit
 * checks those reads' versions, so writers from outside functions are
 * caught as conflicts. close() ends whatever is left open.
 */
export class FunctionStateSession implements StateHandler {
  private transaction: Promise<OpenStateTransaction> | undefined;
  private closed = false;
  /**
   * Set while a workflow step runs: its transactions' commits wait here to
   * be applied with the step's checkpoint, and its reads see its writes.
   */
  private step: StepEffects | undefined;

  constructor(
    private readonly state: StateRepository,
    private readonly slots: Slots,
    private readonly metrics: StateMetrics,
    private readonly functionName: string,
    private readonly deadline: number,
  ) {}

  async handle(request: StateRequest | WorkflowRequest, body: Buffer): Promise<StateAnswer> {
    try {
      if (request.t === 'workflow') throw stateErrors.notAWorkflow();
      if (this.closed) throw stateErrors.lockWaitExpired('state: the call has ended');
      return await this.answer(request, body);
    } catch (error) {
      return { header: { t: 'state_reply', seq: request.seq, ...this.failure(request, error) } };
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.step = undefined;
    await this.endTransaction();
  }

  /** A workflow step begins: until it ends, state commits are held back for its checkpoint. */
  beginStep(): void {
    this.step = { operations: [], written: new Map(), overlaid: new Set() };
  }

  /**
   * The step ended well: `work` writes its checkpoint with the step's state
   * operations, in the transaction its reads locked keys in when there is
   * one (work ends that transaction).
   */
  async finishStep<T>(
    work: (held: OpenStateTransaction | undefined, operations: AppliedOperation[]) => Promise<T>,
  ): Promise<T> {
    const step = this.step;
    this.step = undefined;
    const opening = this.transaction;
    this.transaction = undefined;
    const operations = step ? checksFirst(step) : [];
    if (!opening) return work(undefined, operations);
    const held = await opening;
    try {
      return await work(held, operations);
    } finally {
      this.slots.give();
    }
  }

  /** The step threw: what it wrote is dropped and its locks are let go. */
  async abandonStep(): Promise<void> {
    this.step = undefined;
    await this.endTransaction();
  }

  private async answer(request: StateRequest, body: Buffer): Promise<StateAnswer> {
    const { seq } = request;
    switch (request.op) {
      case 'get':
      case 'tx_get': {
        const key = this.keyOf(request);
        const pending = this.step?.written.get(keyText(key));
        if (this.step && pending !== undefined) {
          // A write of this step, not yet applied: the step reads its own writes.
          this.step.overlaid.add(keyText(key));
          return {
            header: { t: 'state_reply', seq, ok: true, exists: pending !== null, version: 0, commitTs: 0 },
            body: pending === null ? undefined : Buffer.from(JSON.stringify(pending)),
          };
        }
        const found =
          request.op === 'get' ? await this.state.get(key) : await (await this.openTransaction()).lockedGet(key);
        return {
          header: {
            t: 'state_reply',
            seq,
            ok: true,
            exists: found.exists,
            version: found.version,
            commitTs: found.commitTs,
          },
          body: found.exists ? Buffer.from(JSON.stringify(found.value)) : undefined,
        };
      }
      case 'keys': {
        const scope = this.keyOf({ ...request, key: '-' });
        return this.json(seq, await this.state.listKeys(scope.namespace, scope.agentId));
      }
      case 'scan': {
        const scope = this.keyOf({ ...request, key: '-' });
        const entries = await this.state.scanPrefix(scope.namespace, scope.agentId, request.prefix ?? '');
        return this.json(
          seq,
          entries.map((entry) => ({ key: entry.key, value: entry.value, version: entry.version })),
        );
      }
      case 'tx_commit': {
        const operations = this.operationsOf(body);
        if (this.step) {
          this.holdForStep(this.step, operations);
          return { header: { t: 'state_reply', seq, ok: true, commitTs: 0 } };
        }
        const txnId = randomUUID();
        const opening = this.transaction;
        this.transaction = undefined;
        let result: { commitTs: number } | { conflict: StateKey & { expected: number; actual: number } };
        if (opening) {
          // A failed opening throws here, its slot already given back.
          const transaction = await opening;
          try {
            result = await transaction.commit(txnId, operations);
          } finally {
            this.slots.give();
          }
        } else {
          result = operations.some((op) => op.kind !== 'check')
            ? await this.state.apply(txnId, operations)
            : { commitTs: 0 };
        }
        if ('conflict' in result) {
          this.metrics.transaction('conflict');
          const { key, expected, actual } = result.conflict;
          throw stateErrors.conflict(key, expected, actual);
        }
        this.metrics.transaction('committed');
        for (const operation of operations) {
          if (operation.kind !== 'check') this.metrics.operation(operation.kind === 'delete' ? 'delete' : 'put');
        }
        return { header: { t: 'state_reply', seq, ok: true, commitTs: result.commitTs } };
      }
      case 'tx_abort':
        // In a step, the held transaction may hold the locks of an earlier transaction of the step.
        if (this.step) return { header: { t: 'state_reply', seq, ok: true } };
        await this.endTransaction();
        return { header: { t: 'state_reply', seq, ok: true } };
    }
  }

  /** A transaction of a step committed: its writes wait for the checkpoint, its reads' checks with them. */
  private holdForStep(step: StepEffects, operations: AppliedOperation[]): void {
    if (step.operations.length + operations.length > stateLimits.operationsPerTransaction) {
      throw stateErrors.tooManyOperations(stateLimits.operationsPerTransaction);
    }
    for (const operation of operations) {
      const key = keyText(operation);
      // A read of the step's own write checks nothing in the store.
      if (operation.kind === 'check' && step.overlaid.has(key)) continue;
      step.operations.push(operation);
      if (operation.kind === 'write') step.written.set(key, operation.value);
      else if (operation.kind === 'delete') step.written.set(key, null);
    }
  }

  private json(seq: number, value: unknown): StateAnswer {
    const body = Buffer.from(JSON.stringify(value));
    if (body.length > instanceLimits.outputBytes)
      throw stateErrors.replyTooLarge(body.length, instanceLimits.outputBytes);
    return { header: { t: 'state_reply', seq, ok: true }, body };
  }

  /** The request's key in its scope: the function's own (namespace "default", agent = function name) unless it names one. */
  private keyOf(request: { namespace?: unknown; agentId?: unknown; key?: unknown }): StateKey {
    const text = (name: string, value: unknown, fallback?: string): string => {
      if (value === undefined && fallback !== undefined) return fallback;
      if (typeof value !== 'string') throw new InvalidArgumentError(name, 'must be a string');
      return value;
    };
    return checkStateKey({
      namespace: text('namespace', request.namespace, DEFAULT_STATE_NAMESPACE),
      agentId: text('agent_id', request.agentId, this.functionName),
      key: text('key', request.key),
    });
  }

  /** A commit's body, hostile until checked: writes (value null: delete) and the versions its reads saw. */
  private operationsOf(body: Buffer): AppliedOperation[] {
    let parsed: Partial<CommitBody>;
    try {
      parsed = JSON.parse(body.toString('utf8')) as Partial<CommitBody>;
    } catch {
      throw new InvalidArgumentError('operations', 'must be JSON');
    }
    const { writes, reads } = parsed ?? {};
    if (!Array.isArray(writes) || !Array.isArray(reads)) {
      throw new InvalidArgumentError('operations', 'must hold "writes" and "reads" lists');
    }
    const limit = stateLimits.operationsPerTransaction;
    if (writes.length > limit) throw stateErrors.tooManyOperations(limit);
    if (reads.length > limit) throw new InvalidArgumentError('reads', `a transaction reads at most ${limit} keys`);
    const checks = reads.map((read): AppliedOperation => {
      const version = read?.version;
      if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) {
        throw new InvalidArgumentError('version', 'must be 0 or a version');
      }
      return { ...this.keyOf(read ?? {}), kind: 'check', expectedVersion: version };
    });
    const changes = writes.map((write): AppliedOperation => {
      const key = this.keyOf(write ?? {});
      if (write.value === null) return { ...key, kind: 'delete' };
      const value = write.value;
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw new InvalidArgumentError('value', 'must be an object (a JSON object, a Python dict)');
      }
      return { ...key, kind: 'write', value: checkValue(value as JsonObject) };
    });
    return [...checks, ...changes];
  }

  private openTransaction(): Promise<OpenStateTransaction> {
    this.transaction ??= (async () => {
      if (!(await this.slots.take(this.deadline))) throw stateErrors.lockWaitExpired('a transaction slot');
      try {
        return await this.state.open(this.deadline - Date.now());
      } catch (error) {
        this.slots.give();
        throw error;
      }
    })();
    const opening = this.transaction;
    // A failed opening leaves nothing open: the next read tries again.
    opening.catch(() => {
      if (this.transaction === opening) this.transaction = undefined;
    });
    return opening;
  }

  private async endTransaction(): Promise<void> {
    const open = this.transaction;
    this.transaction = undefined;
    if (!open) return;
    let transaction: OpenStateTransaction;
    try {
      transaction = await open;
    } catch {
      return;
    }
    try {
      await transaction.rollback();
    } catch (error) {
      logger.warn('could not roll back a function transaction', { error: (error as Error).message });
    } finally {
      this.slots.give();
    }
  }

  private failure(request: StateRequest | WorkflowRequest, error: unknown): { ok: false; code: string; error: string } {
    const lock = lockFailureOf(error);
    if (lock) {
      // The transaction is unusable after a failed statement: end it, so that a re-run starts afresh.
      void this.endTransaction();
      error = lock === 'deadlock' ? stateErrors.deadlock() : stateErrors.lockWaitExpired(`the lock of a key`);
    }
    if (error instanceof DomainError) return { ok: false, code: error.kind, error: error.message };
    logger.error('a state call of function code failed', {
      function: this.functionName,
      op: request.op,
      error: (error as Error).message,
    });
    if (request.op === 'tx_get') void this.endTransaction();
    return { ok: false, code: 'internal', error: 'the state store failed; see the node log' };
  }
}
