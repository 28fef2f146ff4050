import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { FunctionRecord } from '#storage';
import { RuntimeCatalog } from '#runtimes';
import { DomainError, JsonLogger, NOVA_CONFIG, type NovaConfig } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { Sandbox } from '../sandbox/sandbox.js';
import { attachEgress } from '../sandbox/egress.js';
import { describeIsolation, probeIsolation, type Isolation } from '../sandbox/isolation.js';
import { FunctionPool, type Acquired, type InstanceStarter } from './function-pool.js';
import type { Instance } from './instance.js';
import { profileFor } from './launch.js';
import { WarmPool } from './warm-pool.js';

const MEMORY_CHECK_MS = 100;
/**
 * Between calls an instance should be asleep. One that keeps a core more
 * than a fifth busy over a check interval while idle (a thread or process
 * its handler left running) is stopped, so idle instances cannot mine on
 * the node's CPU.
 */
const IDLE_CPU_CHECK_MS = 1000;
const IDLE_CPU_SHARE = 0.2;
const DEFAULT_MEMORY_MB = 128;

/**
 * Every function instance on this node: a warm pool of generic processes per
 * runtime, one FunctionPool per function, the idle reaper and the memory
 * watchdog. Function changes arrive from the FunctionCatalog (NOTIFY).
 */
@Injectable()
export class InstancePoolService
  implements InstanceStarter, OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new JsonLogger('pool');
  private isolation!: Isolation;
  private sandbox!: Sandbox;
  private warm!: WarmPool;
  /** Instances counted against the node's caps, with the memory each reserves. */
  private readonly reserved = new Map<Instance | symbol, number>();
  private readonly pools = new Map<string, FunctionPool>();
  private timers: NodeJS.Timeout[] = [];
  private watchdogRunning = false;
  private idleCpuCheckRunning = false;
  /** CPU time of each idle instance at the last check, while it stays idle. */
  private readonly idleCpuSamples = new WeakMap<Instance, { lastUsedAt: number; at: number; cpuMs: number }>();

  constructor(
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
    private readonly catalog: FunctionCatalog,
    private readonly runtimes: RuntimeCatalog,
  ) {}

  async onModuleInit(): Promise<void> {
    this.isolation = await probeIsolation(this.config.path);
    const described = describeIsolation(this.isolation);
    if (this.isolation.bwrap && this.isolation.cgroups) this.logger.info('function sandbox', described);
    else this.logger.warn('function sandbox is incomplete on this machine; see docs/security.md', described);
    const { tmpMb, cpus, pids } = this.config.instances;
    this.sandbox = new Sandbox(this.isolation, { tmpMb, cpus, pids });
    this.warm = new WarmPool(this.sandbox, this.config.instances.warmPoolSize);
    await this.sandbox.init();
    this.catalog.onChange((name, record) => this.onFunctionChange(name, record));
  }

  onApplicationBootstrap(): void {
    const defaults = this.runtimes
      .list()
      .filter((runtime) => runtime.id !== 'wasm')
      .map((runtime) => profileFor(runtime, DEFAULT_MEMORY_MB));
    this.warm.pin(defaults);
    for (const record of this.catalog.all()) if (record.minReplicas > 0) this.poolFor(record).ensureMinimum();
    const idleMs = this.config.instances.idleTtlS * 1000;
    this.timers.push(
      setInterval(() => this.reap(idleMs), Math.min(Math.max(idleMs / 4, 50), 5000)),
      setInterval(() => void this.checkMemory(), MEMORY_CHECK_MS),
      setInterval(() => void this.checkIdleCpu(), IDLE_CPU_CHECK_MS),
    );
    for (const timer of this.timers) timer.unref();
  }

  /** After the server has drained: stop every process this node started. */
  async onApplicationShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    await this.warm.close();
    await this.sandbox.dispose();
    await this.isolation.cgroups?.close();
  }

  /** What confines instances on this node, for Health. */
  describeSandbox(): Record<string, string> {
    return describeIsolation(this.isolation);
  }

  acquire(record: FunctionRecord, deadline: number): Promise<Acquired> {
    return this.poolFor(record).acquire(deadline);
  }

  release(record: FunctionRecord, acquired: Acquired, outcome: Parameters<FunctionPool['release']>[1]): void {
    const pool = this.pools.get(record.name);
    if (pool) pool.release(acquired.instance, outcome);
    else void acquired.instance.stop();
  }

  /** Prepares one instance of the function: a generic process loaded with its code. */
  async start(record: FunctionRecord, revision: string): Promise<{ instance: Instance; loadLog: string }> {
    const runtime = this.runtimes.find(record.runtime);
    if (!runtime) throw new DomainError('unavailable', `runtime "${record.runtime}" is not available on this node`);
    const reservation = this.reserve(record);
    try {
      const started = await this.startReserved(record, revision, runtime);
      this.reserved.delete(reservation);
      this.reserved.set(started.instance, record.memoryMb);
      started.instance.onExitOnce(() => this.reserved.delete(started.instance));
      return started;
    } catch (error) {
      this.reserved.delete(reservation);
      throw error;
    }
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
      if (!victim) {
        throw new DomainError(
          'resource_exhausted',
          `this node runs ${this.reserved.size} instances using ${this.reservedMemoryMb()} MiB, its limit is ` +
            `${maxInstances} instances and ${maxMemoryMb} MiB (NOVA_MAX_INSTANCES, NOVA_MAX_MEMORY_MB), and none is idle`,
        );
      }
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

  private async attachEgress(record: FunctionRecord, instance: Instance): Promise<void> {
    if (!this.isolation.bwrap) return; // without namespaces the instance already shares the host's network
    if (!this.isolation.slirp4netns) {
      throw new DomainError(
        'unavailable',
        `function "${record.name}" needs network egress; slirp4netns is not installed on this node`,
      );
    }
    const pid = await instance.hostPid;
    if (pid === undefined) throw new DomainError('unavailable', 'the instance did not report its namespace');
    const detach = await attachEgress(this.isolation.slirp4netns, pid);
    instance.onExitOnce(detach);
  }

  private async startReserved(
    record: FunctionRecord,
    revision: string,
    runtime: NonNullable<ReturnType<RuntimeCatalog['find']>>,
  ): Promise<{ instance: Instance; loadLog: string }> {
    const started = performance.now();
    const code = await this.catalog.codeOf(record);
    const prepared = await this.sandbox.prepareCode(record, code);
    const codeReady = performance.now();
    let instance: Instance;
    try {
      instance = await this.warm.take(profileFor(runtime, record.memoryMb));
    } catch (error) {
      throw new DomainError('unavailable', `could not start a ${runtime.id} instance: ${(error as Error).message}`);
    }
    const processReady = performance.now();
    const identity = this.sandbox.identityOf(record);
    try {
      let workDir = instance.sandboxWorkDir;
      if (workDir === undefined) {
        const dir = await this.sandbox.createWorkDir(instance.id, identity);
        instance.onExitOnce(() => void this.sandbox.removeWorkDir(dir, identity));
        workDir = dir;
      }
      await instance.cgroup?.setMemoryLimit(this.sandbox.instanceMemoryBytes(record.memoryMb));
      if (record.network === 'egress') await this.attachEgress(record, instance);
      const loadLog = await instance.load(
        {
          functionName: record.name,
          version: record.version,
          memoryMb: record.memoryMb,
          handler: record.handler,
          module: prepared.module,
          moduleFiles: prepared.moduleFiles,
          codeDir: prepared.codeDir,
          workDir,
          env: this.sandbox.environment(record, workDir),
          ...(identity ?? {}),
        },
        revision,
      );
      const loaded = performance.now();
      this.logger.debug('instance started', {
        function: record.name,
        version: record.version,
        codeMs: +(codeReady - started).toFixed(2),
        processMs: +(processReady - codeReady).toFixed(2),
        loadMs: +(loaded - processReady).toFixed(2),
      });
      return { instance, loadLog };
    } catch (error) {
      void instance.stop();
      throw error;
    }
  }

  /** Instances per state, for Health. */
  summary(): { idle: number; busy: number; starting: number; generic: Record<string, number> } {
    const total = { idle: 0, busy: 0, starting: 0 };
    for (const pool of this.pools.values()) {
      const counts = pool.counts();
      total.idle += counts.idle;
      total.busy += counts.busy;
      total.starting += counts.starting;
    }
    return { ...total, generic: this.warm.counts() };
  }

  private poolFor(record: FunctionRecord): FunctionPool {
    let pool = this.pools.get(record.name);
    if (!pool) {
      pool = new FunctionPool(record, this, this.config.instances.queueLimit);
      this.pools.set(record.name, pool);
    }
    return pool;
  }

  private onFunctionChange(name: string, record: FunctionRecord | undefined): void {
    const pool = this.pools.get(name);
    if (!record || (pool && pool.functionId !== record.id)) {
      if (pool) {
        this.pools.delete(name);
        void pool.close().then(() => this.sandbox.removeFunction(pool.functionId));
      }
      if (!record) return;
    }
    if (this.pools.has(name) || record.minReplicas > 0) this.poolFor(record).update(record);
    this.stageCode(record);
  }

  /**
   * Fetches and writes a new version's code as soon as it is announced, so
   * that its first call finds it on disk and pays only for loading it.
   */
  private stageCode(record: FunctionRecord): void {
    if (!this.runtimes.find(record.runtime)) return;
    this.catalog
      .codeOf(record)
      .then((code) => this.sandbox.prepareCode(record, code))
      .catch((error: Error) =>
        this.logger.warn('could not stage code', { function: record.name, error: error.message }),
      );
  }

  private reap(idleMs: number): void {
    const now = Date.now();
    for (const pool of this.pools.values()) pool.reap(now, idleMs);
    this.warm.reap(now, idleMs);
  }

  /** Stops idle instances that use CPU (see IDLE_CPU_SHARE); cgroups count it. */
  private async checkIdleCpu(): Promise<void> {
    if (this.idleCpuCheckRunning) return;
    this.idleCpuCheckRunning = true;
    try {
      for (const pool of this.pools.values()) {
        for (const instance of [...pool.idleInstances()]) {
          const cpuMs = await instance.cgroup?.cpuUsageMs();
          if (cpuMs === undefined || instance.state !== 'idle') continue;
          const now = performance.now();
          const previous = this.idleCpuSamples.get(instance);
          this.idleCpuSamples.set(instance, { lastUsedAt: instance.lastUsedAt, at: now, cpuMs });
          // A sample from before its last call says nothing about idleness.
          if (!previous || previous.lastUsedAt !== instance.lastUsedAt) continue;
          const usedMs = cpuMs - previous.cpuMs;
          if (usedMs <= (now - previous.at) * IDLE_CPU_SHARE) continue;
          this.logger.warn('instance used CPU while idle (its handler left work running); stopping it', {
            function: pool.name,
            cpuMs: Math.round(usedMs),
            overMs: Math.round(now - previous.at),
          });
          pool.evict(instance);
        }
      }
    } finally {
      this.idleCpuCheckRunning = false;
    }
  }

  /**
   * The runtime limits catch most overuse (RLIMIT_AS in Python, V8's heap
   * limit in Node); memory outside them (Node buffers, WASM memory) is
   * caught here from /proc and the instance killed.
   */
  private async checkMemory(): Promise<void> {
    if (this.watchdogRunning) return;
    this.watchdogRunning = true;
    try {
      for (const pool of this.pools.values()) {
        for (const instance of pool.busyInstances()) {
          const rss = await instance.residentMb();
          if (rss !== undefined && rss > instance.memoryLimitMb) {
            this.logger.warn('instance over its memory limit; killing it', {
              function: pool.name,
              residentMb: Math.round(rss),
              limitMb: instance.memoryLimitMb,
            });
            instance.killForMemory();
          }
        }
      }
    } finally {
      this.watchdogRunning = false;
    }
  }
}
