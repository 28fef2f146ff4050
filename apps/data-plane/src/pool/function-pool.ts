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
}

interface Waiter {
  resolve: (acquired: Acquired) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
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
  return `${record.id}:${record.version}:${record.memoryMb}:${record.handler}:${record.network}:${env.slice(0, 16)}`;
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
 * The instances of one function on this node. Calls take an idle instance of
 * the current revision, else start one up to max_replicas, else wait in a
 * bounded queue. A new revision (code or settings) gets new instances; the
 * old ones finish their calls and stop.
 */
export class FunctionPool {
  private readonly logger = new JsonLogger('pool');
  private record: FunctionRecord;
  private revision: string;
  private readonly instances = new Set<Instance>();
  private idle: Instance[] = [];
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
    }
    this.ensureMinimum();
    this.serveWaiters();
  }

  /** An idle instance of the current revision, taken for a call; undefined when there is none. */
  takeWarm(): Acquired | undefined {
    if (this.closed) return undefined;
    const warm = this.takeIdle();
    return warm && { instance: warm, cold: false, loadLog: '' };
  }

  async acquire(deadline: number): Promise<Acquired> {
    if (this.closed) throw poolErrors.functionDeleted(this.name);
    const warm = this.takeWarm();
    if (warm) return warm;
    if (this.hasRoom()) return this.startFor();
    if (this.waiters.length >= this.queueLimit) {
      throw poolErrors.queueFull(this.name, this.record.maxReplicas, this.queueLimit);
    }
    return new Promise<Acquired>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
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

  /** Returns an instance after a call; one that cannot serve again is stopped. */
  release(instance: Instance, outcome: InvokeOutcome): void {
    const reusable =
      outcome.kind === 'ok' ||
      outcome.kind === 'output_too_large' ||
      (outcome.kind === 'function_error' && !outcome.replace);
    if (!reusable || instance.state === 'dead' || instance.revision !== this.revision || this.closed) {
      this.retire(instance);
      this.serveWaiters();
      return;
    }
    instance.state = 'idle';
    instance.lastUsedAt = Date.now();
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      instance.state = 'busy';
      waiter.resolve({ instance, cold: false, loadLog: '' });
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
      this.startFor().then(
        (acquired) => this.release(acquired.instance, { kind: 'ok', output: Buffer.alloc(0), log: '' }),
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
    await Promise.all([...this.instances].map((instance) => instance.stop()));
    this.instances.clear();
  }

  private current(): number {
    let count = 0;
    for (const instance of this.instances)
      if (instance.revision === this.revision && instance.state !== 'dead') count += 1;
    return count;
  }

  private takeIdle(): Instance | undefined {
    for (let instance = this.idle.pop(); instance; instance = this.idle.pop()) {
      if (instance.state === 'idle' && instance.revision === this.revision) {
        instance.state = 'busy';
        return instance;
      }
      this.retire(instance);
    }
    return undefined;
  }

  private async startFor(): Promise<Acquired> {
    this.starting += 1;
    try {
      const { instance, loadLog } = await this.starter.start(this.record, this.revision);
      this.instances.add(instance);
      instance.onExitOnce(() => {
        this.instances.delete(instance);
        const at = this.idle.indexOf(instance);
        if (at >= 0) this.idle.splice(at, 1);
        this.serveWaiters();
      });
      instance.state = 'busy';
      return { instance, cold: true, loadLog };
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
      const warm = this.takeIdle();
      if (warm) {
        const waiter = this.waiters.shift()!;
        clearTimeout(waiter.timer);
        waiter.resolve({ instance: warm, cold: false, loadLog: '' });
        continue;
      }
      if (!this.hasRoom()) return;
      const waiter = this.waiters.shift()!;
      clearTimeout(waiter.timer);
      this.startFor().then(waiter.resolve, waiter.reject);
    }
  }

  private retire(instance: Instance): void {
    this.instances.delete(instance);
    void instance.stop();
  }
}
