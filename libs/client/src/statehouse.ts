import { createStatehouseClient, type StatehousePromiseClient } from '#proto/client';
import { ConflictError, TransactionError, translated } from './errors.js';
import { streamed } from './streamed.js';
import { connectionOf, type ClientOptions } from './connection.js';

/** A value as statehouse.v1 stores it: a JSON object. */
export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

export type { ClientOptions };

export interface StatehouseOptions extends ClientOptions {
  /** The key space of calls that name none; "default" unless set. */
  namespace?: string;
}

/** A key as it is now (or was, at a version). exists=false: never written, or deleted. */
export interface StateResult {
  value: JsonObject | undefined;
  version: number;
  commitTs: number;
  exists: boolean;
}

export interface StateEntry {
  key: string;
  value: JsonObject;
  version: number;
  commitTs: number;
}

/** One committed transaction's operations for one agent; a delete has no value. */
export interface ReplayEvent {
  txnId: string;
  commitTs: number;
  operations: { key: string; value: JsonObject | undefined; version: number }[];
}

export interface ReplayOptions {
  namespace?: string;
  /** From this commit_ts, included. */
  startTs?: number;
  /** Up to this commit_ts, included; without it, up to the end as of the call. */
  endTs?: number;
  /** After the history, keep delivering new commits until the loop stops or the signal aborts. */
  follow?: boolean;
  signal?: AbortSignal;
}

export interface TransactionOptions {
  /** The transaction expires this long after it began; 30 s unless set, at most 10 minutes. */
  timeoutMs?: number;
  /** The key space of its operations. */
  namespace?: string;
}

export interface OperationOptions {
  /** Commit only if the key is still at this version (0: has no live value); else ConflictError. */
  expectedVersion?: number;
}

/**
 * One statehouse.v1 transaction: stage writes and deletes, then commit
 * (atomically, returning commit_ts) or abort. Its calls may reach any Nova
 * process; the transaction lives in the database.
 */
export class Transaction {
  private finished: 'committed' | 'aborted' | undefined;

  constructor(
    private readonly client: StatehousePromiseClient,
    readonly id: string,
    readonly namespace: string,
  ) {}

  async write(agentId: string, key: string, value: JsonObject, options: OperationOptions = {}): Promise<void> {
    this.checkOpen();
    await translated(
      () =>
        this.client.write({
          txnId: this.id,
          namespace: this.namespace,
          agentId,
          key,
          value,
          ...(options.expectedVersion !== undefined ? { expectedVersion: options.expectedVersion } : {}),
        }),
      'transaction',
    );
  }

  async delete(agentId: string, key: string, options: OperationOptions = {}): Promise<void> {
    this.checkOpen();
    await translated(
      () =>
        this.client.delete({
          txnId: this.id,
          namespace: this.namespace,
          agentId,
          key,
          ...(options.expectedVersion !== undefined ? { expectedVersion: options.expectedVersion } : {}),
        }),
      'transaction',
    );
  }

  /** Applies every staged operation atomically; returns its commit_ts. */
  async commit(): Promise<number> {
    this.checkOpen();
    const { commitTs } = await translated(() => this.client.commit({ txnId: this.id }), 'transaction');
    this.finished = 'committed';
    return commitTs;
  }

  /** Discards the staged operations; aborting twice is fine. */
  async abort(): Promise<void> {
    if (this.finished === 'aborted') return;
    if (this.finished === 'committed')
      throw new TransactionError('the transaction is already committed', 'FAILED_PRECONDITION');
    await translated(() => this.client.abort({ txnId: this.id }), 'transaction');
    this.finished = 'aborted';
  }

  private checkOpen(): void {
    if (this.finished) {
      throw new TransactionError(`the transaction is already ${this.finished}`, 'FAILED_PRECONDITION');
    }
  }
}

/** Copies only the SDK's fields, so no wire type leaks out. */
function toStateResult(found: Omit<StateResult, 'value'> & { value?: JsonObject | undefined }): StateResult {
  return { value: found.value, version: found.version, commitTs: found.commitTs, exists: found.exists };
}

/** Times a transaction callback is run again after a ConflictError, unless `retries` says otherwise. */
const DEFAULT_RETRIES = 5;

/**
 * statehouse.v1 for TypeScript: the same calls as Statehouse's Python SDK,
 * with promises, typed results and typed errors (NotFoundError,
 * TransactionError, ConflictError, InvalidArgumentError, ConnectionError,
 * AuthError), and no gRPC types.
 */
export class Statehouse {
  private readonly client: StatehousePromiseClient;
  private readonly namespace: string;

  constructor(options: StatehouseOptions) {
    this.client = createStatehouseClient(connectionOf(options));
    this.namespace = options.namespace ?? 'default';
  }

  async health(): Promise<string> {
    return (await translated(() => this.client.health({}))).status;
  }

  async version(): Promise<{ version: string; gitSha: string }> {
    return translated(() => this.client.version({}));
  }

  /** A transaction to stage operations in and then commit or abort. */
  transaction(options?: TransactionOptions): Promise<Transaction>;
  /**
   * Runs work in a transaction: committed when it resolves, aborted when it
   * throws. On a ConflictError it runs again, up to `retries` times (5).
   */
  transaction<T>(
    work: (tx: Transaction) => Promise<T>,
    options?: TransactionOptions & { retries?: number },
  ): Promise<{ result: T; commitTs: number }>;
  async transaction<T>(
    workOrOptions?: ((tx: Transaction) => Promise<T>) | TransactionOptions,
    options: TransactionOptions & { retries?: number } = {},
  ): Promise<Transaction | { result: T; commitTs: number }> {
    if (typeof workOrOptions !== 'function') return this.begin(workOrOptions ?? {});
    const retries = options.retries ?? DEFAULT_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const tx = await this.begin(options);
      let result: T;
      try {
        result = await workOrOptions(tx);
      } catch (error) {
        await tx.abort().catch(() => undefined);
        throw error;
      }
      try {
        return { result, commitTs: await tx.commit() };
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= retries) throw error;
      }
    }
  }

  async getState(agentId: string, key: string, options: { namespace?: string } = {}): Promise<StateResult> {
    return toStateResult(
      await translated(() => this.client.getState({ namespace: options.namespace ?? this.namespace, agentId, key })),
    );
  }

  /** The key as of one version; NotFoundError when it never had it. */
  async getStateAtVersion(
    agentId: string,
    key: string,
    version: number,
    options: { namespace?: string } = {},
  ): Promise<StateResult> {
    return toStateResult(
      await translated(() =>
        this.client.getStateAtVersion({ namespace: options.namespace ?? this.namespace, agentId, key, version }),
      ),
    );
  }

  /** An agent's live keys, in key order. */
  async listKeys(agentId: string, options: { namespace?: string } = {}): Promise<string[]> {
    return (await translated(() => this.client.listKeys({ namespace: options.namespace ?? this.namespace, agentId })))
      .keys;
  }

  /** An agent's live keys that start with prefix, with their values, in key order. */
  async scanPrefix(agentId: string, prefix: string, options: { namespace?: string } = {}): Promise<StateEntry[]> {
    const { entries } = await translated(() =>
      this.client.scanPrefix({ namespace: options.namespace ?? this.namespace, agentId, prefix }),
    );
    return entries.map((entry) => ({
      key: entry.key,
      value: entry.value ?? {},
      version: entry.version,
      commitTs: entry.commitTs,
    }));
  }

  /**
   * An agent's committed events in commit_ts order, read as the loop asks
   * for them. Leaving the loop (break, return, throw) or aborting the
   * signal ends the stream; with follow it otherwise never ends.
   */
  async *replay(agentId: string, options: ReplayOptions = {}): AsyncGenerator<ReplayEvent> {
    const stream = this.client.replay({
      namespace: options.namespace ?? this.namespace,
      agentId,
      ...(options.startTs !== undefined ? { startTs: options.startTs } : {}),
      ...(options.endTs !== undefined ? { endTs: options.endTs } : {}),
      follow: options.follow === true,
    });
    for await (const event of streamed(stream, options.signal)) {
      yield {
        txnId: event.txnId,
        commitTs: event.commitTs,
        operations: event.operations.map((op) => ({ key: op.key, value: op.value, version: op.version })),
      };
    }
  }

  close(): void {
    this.client.close();
  }

  private async begin(options: TransactionOptions): Promise<Transaction> {
    const { txnId } = await translated(
      () => this.client.beginTransaction(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      'transaction',
    );
    return new Transaction(this.client, txnId, options.namespace ?? this.namespace);
  }
}
