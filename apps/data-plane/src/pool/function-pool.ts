import { createHash } from 'node:crypto';
import type { FunctionRecord } from '#storage';
import { JsonLogger } from '#server';
import { poolErrors } from './pool.errors.js';
import type { Instance, InvokeOutcome } from './instance.js';

/** A function instance handed to one call; cold when this call had to prepare it. */
export interface Acquired {
  instance: Instance;
  cold: boolean;
  /** What importing the function printed, for the cold call's log. */
  loadLog: string;
  /** The instance's call slots this call holds: 1, or all of them when it has the instance to itself. */
  slots: number;
}

interface Waiter {
  resolve: (acquired: Acquired) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  exclusive: boolean;
}

const noSiblings: FunctionSiblings = {
  instances: () => 0,
  evictIdle: () => false,
  waiting: () => false,
  wake: () => undefined,
};

/** Settings that need a new instance when they change; replica counts and the timeout do not. */
export function revisionOf(record: FunctionRecord): string {
  const env = createHash('sha256')
    .update(JSON.stringify(Object.entries(record.envVars).sort()))
    .digest('hex');
  // concurrency too: an instance learns at load whether its calls overlap (how it captures their output).
  return `${record.id}:${record.version}:${record.memoryMb}:${record.handler}:${record.network}:${record.concurrency}:${env.slice(0, 16)}`;
}

export interface InstanceStarter {
  start(record: FunctionRecord, revision: string): Promise<{ instance: Instance; loadLog: string }>;
}

/** The function's other pools (older versions a call pinned): they share its max_replicas. */
export interface FunctionSiblings {
  /** Instances the function's other pools hold, live or starting. */
  instances(): number;
  /** Stops one idle instance of another pool; false when none is idle. */
  evictIdle(): boolean;
  /** Whether another pool has calls waiting for an instance. */
  waiting(): boolean;
  /** Lets the other pools' waiters try again (room was freed). */
  wake(): void;
}

/**
 * The instances of one function on this node. Each instance has
 * `concurrency` call slots (1 unless the function allows more). Calls take
 * a free slot of an instance already serving calls, else an idle instance
 * of the current revision, else start one up to max_replicas, else wait in
 * a bounded queue. A call that must have its instance to itself (a stream,
 * a workflow run: cancelling them kills the instance) takes every slot of
 * an idle one. A new revision (code or settings) gets new instances; the
 * old ones finish their calls and stop.
 *
 * The pool counts the slots it handed out itself (Instance.slotsTaken): an
 * instance's own count of calls in flight runs ahead of it (two results
 * read in one chunk settle two calls before either is released).
 */
export class FunctionPool {
  private readonly logger = new JsonLogger('pool');
  private record: FunctionRecord;
  private revision: string;
  private readonly instances = new Set<Instance>();
  private idle: Instance[] = [];
  /** Instances of the current revision with calls in flight and a slot free (only with concurrency above 1). */
  private readonly open = new Set<Instance>();
  private starting = 0;
  private readonly waiters: Waiter[] = [];
  private closed = false;

  constructor(
    record: FunctionRecord,
    private readonly starter: InstanceStarter,
    private readonly queueLimit: number,
    private readonly siblings: FunctionSiblings = noSiblings,
  ) {
    this.record = record;
    this.revision = revisionOf(record);
  }

  get name(): string {
    return this.record.name;
  }

  get functionId(): string {
    return this.record.id;
  }

  /** The version this pool's instances run. */
  get version(): number {
    return this.record.version;
  }

  /** The function as these instances run it (a pinned version's code and handler included). */
  get definition(): FunctionRecord {
    return this.record;
  }

  /** Nothing running, starting or waiting: a pinned version's pool may go. */
  get empty(): boolean {
    return this.instances.size === 0 && this.starting === 0 && this.waiters.length === 0;
  }

  /** Takes the function's new definition; instances of an older revision drain. */
  update(record: FunctionRecord): void {
    this.record = record;
    const revision = revisionOf(record);
    if (revision !== this.revision) {
      this.revision = revision;
      const stale = this.idle;
      this.idle = [];
      for (const instance of stale) this.retire(instance);
      // Shared instances of the old revision take no more calls; each stops when its last one is released.
      this.open.clear();
    }
    this.ensureMinimum();
    this.serveWaiters();
  }

  /**
   * A free slot of a warm instance of the current revision, taken for a call;
   * undefined when there is none, or when calls already wait (they come first).
   */
  takeWarm(exclusive = false): Acquired | undefined {
    if (this.closed || this.waiters.length > 0) return undefined;
    return this.takeSlot(exclusive);
  }

  async acquire(deadline: number, exclusive = false): Promise<Acquired> {
    if (this.closed) throw poolErrors.functionDeleted(this.name);
    const warm = this.takeWarm(exclusive);
    if (warm) return warm;
    if (this.hasRoom()) return this.startFor(exclusive);
    if (this.waiters.length >= this.queueLimit) {
      throw poolErrors.queueFull(this.name, this.record.maxReplicas, this.queueLimit);
    }
    return new Promise<Acquired>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        exclusive,
        timer: setTimeout(
          () => {
            const at = this.waiters.indexOf(waiter);
            if (at >= 0) this.waiters.splice(at, 1);
            reject(poolErrors.noInstanceInTime(this.name, this.record.maxReplicas));
          },
          Math.max(0, deadline - Date.now()),
        ),
      };
      this.waiters.push(waiter);
    });
  }

  /** Gives back a call's slots after it ended; an instance that cannot serve again is stopped. */
  release(acquired: Acquired, outcome: InvokeOutcome): void {
    const { instance } = acquired;
    instance.slotsTaken -= acquired.slots;
    const reusable =
      outcome.kind === 'ok' ||
      outcome.kind === 'output_too_large' ||
      (outcome.kind === 'function_error' && !outcome.replace);
    if (!reusable || instance.state === 'dead') {
      this.open.delete(instance);
      this.retire(instance);
      this.serveWaiters();
      return;
    }
    if (instance.revision !== this.revision || this.closed) {
      // Its other calls finish first; the last one out stops it.
      this.open.delete(instance);
      if (instance.slotsTaken === 0) {
        this.retire(instance);
        this.serveWaiters();
      }
      return;
    }
    instance.lastUsedAt = Date.now();
    if (instance.slotsTaken > 0) {
      this.open.add(instance);
      this.serveWaiters();
      return;
    }
    this.open.delete(instance);
    instance.state = 'idle';
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(this.assign(instance, waiter.exclusive, false, ''));
      return;
    }
    // Another version of the function waits for room under max_replicas: this idle instance gives way.
    if (this.siblings.waiting()) {
      this.retire(instance);
      this.siblings.wake();
      return;
    }
    this.idle.push(instance);
  }

  /** Stops instances idle for longer than idleMs, keeping min_replicas. */
  reap(now: number, idleMs: number): void {
    const keep = this.record.minReplicas;
    // Oldest first: the idle list is a stack, most recently used on top.
    while (this.idle.length > 0 && this.current() > keep) {
      const oldest = this.idle[0]!;
      if (now - oldest.lastUsedAt < idleMs) break;
      this.idle.shift();
      this.retire(oldest);
    }
  }

  /** Starts instances until min_replicas are up. */
  ensureMinimum(): void {
    const missing = Math.min(this.record.minReplicas, this.record.maxReplicas) - this.current() - this.starting;
    for (let i = 0; i < missing; i++) {
      this.startFor(false).then(
        (acquired) => this.release(acquired, { kind: 'ok', output: Buffer.alloc(0), log: '' }),
        (error: Error) =>
          this.logger.warn('could not pre-warm an instance', { function: this.name, error: error.message }),
      );
    }
  }

  /** Idle instances, for the node's least-recently-used eviction. */
  idleInstances(): readonly Instance[] {
    return this.idle;
  }

  /** Stops an idle instance to make room for another function's. */
  evict(instance: Instance): void {
    const at = this.idle.indexOf(instance);
    if (at >= 0) this.idle.splice(at, 1);
    this.retire(instance);
  }

  busyInstances(): Instance[] {
    return [...this.instances].filter((instance) => instance.state === 'busy');
  }

  counts(): { idle: number; busy: number; starting: number; queued: number } {
    return {
      idle: this.idle.length,
      busy: this.instances.size - this.idle.length,
      starting: this.starting,
      queued: this.waiters.length,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(poolErrors.functionDeleted(this.name));
    }
    this.idle = [];
    this.open.clear();
    await Promise.all([...this.instances].map((instance) => instance.stop()));
    this.instances.clear();
  }

  private current(): number {
    let count = 0;
    for (const instance of this.instances)
      if (instance.revision === this.revision && instance.state !== 'dead') count += 1;
    return count;
  }

  /** A slot of a shared instance with room (not for a call that needs its instance alone), else an idle instance. */
  private takeSlot(exclusive: boolean): Acquired | undefined {
    if (!exclusive) {
      for (const instance of this.open) {
        if (instance.state === 'dead' || instance.revision !== this.revision) {
          this.open.delete(instance);
          continue;
        }
        return this.assign(instance, false, false, '');
      }
    }
    const warm = this.takeIdle();
    return warm && this.assign(warm, exclusive, false, '');
  }

  /** Hands a call its slots of the instance: one, or every one when it needs the instance alone. */
  private assign(instance: Instance, exclusive: boolean, cold: boolean, loadLog: string): Acquired {
    const concurrency = this.record.concurrency;
    const slots = exclusive ? concurrency : 1;
    instance.slotsTaken += slots;
    instance.state = 'busy';
    if (instance.slotsTaken < concurrency) this.open.add(instance);
    else this.open.delete(instance);
    return { instance, cold, loadLog, slots };
  }

  private takeIdle(): Instance | undefined {
    for (let instance = this.idle.pop(); instance; instance = this.idle.pop()) {
      if (instance.state === 'idle' && instance.revision === this.revision) return instance;
      this.retire(instance);
    }
    return undefined;
  }

  private async startFor(exclusive: boolean): Promise<Acquired> {
    this.starting += 1;
    try {
      const { instance, loadLog } = await this.starter.start(this.record, this.revision);
      this.instances.add(instance);
      instance.onExitOnce(() => {
        this.instances.delete(instance);
        this.open.delete(instance);
        const at = this.idle.indexOf(instance);
        if (at >= 0) this.idle.splice(at, 1);
        this.serveWaiters();
      });
      return this.assign(instance, exclusive, true, loadLog);
    } catch (error) {
      // Callers queued behind this start would only fail the same way (the
      // same code, the same runtime): answer them now rather than at their
      // deadline.
      for (const waiter of this.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(error as Error);
      }
      throw error;
    } finally {
      this.starting -= 1;
    }
  }

  /** Whether calls wait here for an instance. */
  get waiting(): boolean {
    return this.waiters.length > 0;
  }

  /** Instances of this pool, live or starting: what it counts against the function's max_replicas. */
  get size(): number {
    return this.instances.size + this.starting;
  }

  /**
   * Whether one more instance fits max_replicas, counted over the function's
   * every version on this node; an idle instance of another version gives
   * way when it does not.
   */
  private hasRoom(): boolean {
    if (this.current() + this.starting + this.siblings.instances() < this.record.maxReplicas) return true;
    return this.current() + this.starting < this.record.maxReplicas && this.siblings.evictIdle();
  }

  /** A waiter whose instance died (or whose capacity freed up, here or in a sibling pool) gets a new one. */
  serveWaiters(): void {
    while (this.waiters.length > 0 && !this.closed) {
      // In order: a call that needs an instance alone holds back the ones behind it until one drains.
      const { exclusive } = this.waiters[0]!;
      const warm = this.takeSlot(exclusive);
      if (warm) {
        const waiter = this.waiters.shift()!;
        clearTimeout(waiter.timer);
        waiter.resolve(warm);
        continue;
      }
      if (!this.hasRoom()) return;
      const waiter = this.waiters.shift()!;
      clearTimeout(waiter.timer);
      this.startFor(exclusive).then(waiter.resolve, waiter.reject);
    }
  }

  private retire(instance: Instance): void {
    this.instances.delete(instance);
    void instance.stop();
  }
}
