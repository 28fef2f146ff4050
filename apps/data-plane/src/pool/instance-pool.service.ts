import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { FunctionRecord } from '#storage';
import { RuntimeCatalog, type RuntimeDescriptor } from '#runtimes';
import { JsonLogger, NOVA_CONFIG, type NovaConfig } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { NodeSandbox } from '../sandbox/node-sandbox.js';
import { FunctionPool, type Acquired, type FunctionSiblings, type InstanceStarter } from './function-pool.js';
import type { Instance, InvokeOutcome } from './instance.js';
import { InstanceLauncher } from './instance-launcher.js';
import { profileFor } from './launch.js';
import { poolErrors } from './pool.errors.js';

const DEFAULT_MEMORY_MB = 128;

/**
 * The registry of every function instance on this node: one FunctionPool
 * per function for its latest version, and one per older version a call
 * pinned ("name@3", made on demand, dropped once empty), kept in step with
 * the FunctionCatalog (NOTIFY), and the
 * node's caps (instances, memory) that every new instance is counted
 * against. Starting an instance is InstanceLauncher's job; stopping idle
 * and runaway ones is IdleReaper's and MemoryWatchdog's.
 */
@Injectable()
export class InstancePoolService
  implements InstanceStarter, OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new JsonLogger('pool');
  /** Instances counted against the node's caps, with the memory each reserves. */
  private readonly reserved = new Map<Instance | symbol, number>();
  private readonly pools = new Map<string, FunctionPool>();
  /** Each function's pools by key, by function name: its latest version's and its pinned versions'. */
  private readonly families = new Map<string, Map<string, FunctionPool>>();

  constructor(
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
    private readonly catalog: FunctionCatalog,
    private readonly runtimes: RuntimeCatalog,
    private readonly node: NodeSandbox,
    private readonly launcher: InstanceLauncher,
  ) {}

  onModuleInit(): void {
    this.catalog.onChange((name, record) => this.onFunctionChange(name, record));
  }

  onApplicationBootstrap(): void {
    const defaults = this.runtimes
      .list()
      .filter((runtime) => runtime.id !== 'wasm')
      .map((runtime) => profileFor(runtime, DEFAULT_MEMORY_MB));
    this.node.warm.pin(defaults);
    for (const record of this.catalog.all()) if (record.minReplicas > 0) this.poolFor(record).ensureMinimum();
  }

  /** After the server has drained: stop every instance (the sandbox goes after, in its own module). */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
  }

  /**
   * An instance for one call: at once when one has a free slot (the warm
   * path makes no promise), else a promise of one. Exclusive: the call needs
   * the instance to itself (it may be cancelled, which kills the instance).
   */
  acquire(record: FunctionRecord, deadline: number, exclusive = false): Acquired | Promise<Acquired> {
    const pool = this.poolFor(record);
    return pool.takeWarm(exclusive) ?? pool.acquire(deadline, exclusive);
  }

  release(record: FunctionRecord, acquired: Acquired, outcome: InvokeOutcome): void {
    const pool = this.pools.get(this.keyOf(record));
    if (pool) pool.release(acquired, outcome);
    else void acquired.instance.stop();
  }

  /** Every function's pool, for the reaper and the watchdog. */
  all(): IterableIterator<FunctionPool> {
    return this.pools.values();
  }

  /** Drops the pools of pinned versions that have nothing left running (after the reaper). */
  pruneEmpty(): void {
    for (const [key, pool] of this.pools) if (key !== pool.name && pool.empty) this.forget(key, pool);
  }

  /** The other pools of the pool's function, seen from it; cheap when it has none (the usual case). */
  private siblingsOf(name: string, self: () => FunctionPool | undefined): FunctionSiblings {
    const others = (): FunctionPool[] => {
      const family = this.families.get(name);
      return family && family.size > 1 ? [...family.values()].filter((pool) => pool !== self()) : [];
    };
    return {
      instances: () => others().reduce((sum, other) => sum + other.size, 0),
      evictIdle: () => {
        for (const other of others()) {
          const idle = other.idleInstances()[0];
          if (idle) {
            other.evict(idle);
            return true;
          }
        }
        return false;
      },
      waiting: () => others().some((other) => other.waiting),
      wake: () => {
        for (const other of others()) other.serveWaiters();
      },
    };
  }

  private familyOf(name: string): FunctionPool[] {
    return [...(this.families.get(name)?.values() ?? [])];
  }

  /** Prepares one instance of the function, counted against the node's caps while it lives. */
  async start(record: FunctionRecord, revision: string): Promise<{ instance: Instance; loadLog: string }> {
    const runtime: RuntimeDescriptor = this.launcher.runtimeOf(record);
    const reservation = this.reserve(record);
    try {
      const started = await this.launcher.launch(record, revision, runtime);
      this.reserved.delete(reservation);
      this.reserved.set(started.instance, record.memoryMb);
      started.instance.onExitOnce(() => {
        this.reserved.delete(started.instance);
        // Room freed in one version's pool may be what another's waiters wait for.
        for (const pool of this.familyOf(record.name)) pool.serveWaiters();
      });
      return started;
    } catch (error) {
      this.reserved.delete(reservation);
      throw error;
    }
  }

  /** Instances per state and calls waiting for one, for Health and the cluster's view of this node. */
  summary(): { idle: number; busy: number; starting: number; queued: number; generic: Record<string, number> } {
    const total = { idle: 0, busy: 0, starting: 0, queued: 0 };
    for (const pool of this.pools.values()) {
      const counts = pool.counts();
      total.idle += counts.idle;
      total.busy += counts.busy;
      total.starting += counts.starting;
      total.queued += counts.queued;
    }
    return { ...total, generic: this.node.warm.counts() };
  }

  /**
   * Counts a new instance against the node's caps (instances, total memory);
   * past them, idle instances of other functions are stopped, least
   * recently used first, and when none is left the call is refused.
   */
  private reserve(record: FunctionRecord): symbol {
    const { maxInstances, maxMemoryMb } = this.config.instances;
    const fits = (): boolean =>
      this.reserved.size + 1 <= maxInstances && this.reservedMemoryMb() + record.memoryMb <= maxMemoryMb;
    while (!fits()) {
      const victim = this.leastRecentlyUsedIdle(record.name);
      if (!victim) throw poolErrors.nodeFull(this.reserved.size, this.reservedMemoryMb(), maxInstances, maxMemoryMb);
      this.logger.info('stopping an idle instance to make room', {
        function: victim.pool.name,
        for: record.name,
      });
      victim.pool.evict(victim.instance);
      this.reserved.delete(victim.instance);
    }
    const reservation = Symbol(record.name);
    this.reserved.set(reservation, record.memoryMb);
    return reservation;
  }

  private reservedMemoryMb(): number {
    let total = 0;
    for (const memoryMb of this.reserved.values()) total += memoryMb;
    return total;
  }

  private leastRecentlyUsedIdle(except: string): { pool: FunctionPool; instance: Instance } | undefined {
    let oldest: { pool: FunctionPool; instance: Instance } | undefined;
    for (const pool of this.pools.values()) {
      if (pool.name === except) continue;
      for (const instance of pool.idleInstances()) {
        if (!oldest || instance.lastUsedAt < oldest.instance.lastUsedAt) oldest = { pool, instance };
      }
    }
    return oldest;
  }

  private forget(key: string, pool: FunctionPool): void {
    this.pools.delete(key);
    const family = this.families.get(pool.name);
    family?.delete(key);
    if (family?.size === 0) this.families.delete(pool.name);
  }

  /** The latest version's pool is the function's name; an older pinned version's is "name@version". */
  private keyOf(record: FunctionRecord): string {
    const latest = this.catalog.peek(record.name);
    return !latest || latest.version <= record.version ? record.name : `${record.name}@${record.version}`;
  }

  private poolFor(record: FunctionRecord): FunctionPool {
    const key = this.keyOf(record);
    let pool = this.pools.get(key);
    if (!pool) {
      let created: FunctionPool | undefined;
      const siblings = this.siblingsOf(record.name, () => created);
      pool = created = new FunctionPool(record, this, this.config.instances.queueLimit, siblings);
      this.pools.set(key, pool);
      const family = this.families.get(record.name) ?? new Map<string, FunctionPool>();
      family.set(key, pool);
      this.families.set(record.name, family);
    }
    return pool;
  }

  private onFunctionChange(name: string, record: FunctionRecord | undefined): void {
    const pinned = [...(this.families.get(name) ?? [])].filter(([key]) => key !== name);
    const latest = this.pools.get(name);
    if (!record || (latest && latest.functionId !== record.id)) {
      const removedId = latest?.functionId ?? pinned[0]?.[1].functionId;
      const closing = [...(latest ? [[name, latest] as const] : []), ...pinned].map(([key, pool]) => {
        this.forget(key, pool);
        return pool.close();
      });
      if (removedId) void Promise.all(closing).then(() => this.node.sandbox.removeFunction(removedId));
      if (!record) return;
    } else {
      // Settings apply to every version; a pinned pool keeps its own code and handler.
      for (const [, pool] of pinned) {
        const { version, codeHash, handler } = pool.definition;
        pool.update({ ...record, version, codeHash, handler });
      }
    }
    if (this.pools.has(name) || record.minReplicas > 0) this.poolFor(record).update(record);
    this.launcher.stageCode(record);
  }
}
