import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { JsonLogger, Periodic, NOVA_CONFIG, type NovaConfig } from '#server';
import { NodeSandbox } from '../sandbox/node-sandbox.js';
import type { Instance } from './instance.js';
import { InstancePoolService } from './instance-pool.service.js';

const MEMORY_CHECK_MS = 100;
/**
 * Between calls an instance should be asleep. One that keeps a core more
 * than a fifth busy over a check interval while idle (a thread or process
 * its handler left running) is stopped, so idle instances cannot mine on
 * the node's CPU.
 */
const IDLE_CPU_CHECK_MS = 1000;
const IDLE_CPU_SHARE = 0.2;

/** Stops instances idle past NOVA_IDLE_TTL_S, and idle instances that burn CPU (cgroups count it). */
@Injectable()
export class IdleReaper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new JsonLogger('pool');
  private readonly timers: Periodic[] = [];
  /** CPU time of each idle instance at the last check, while it stays idle. */
  private readonly idleCpuSamples = new WeakMap<Instance, { lastUsedAt: number; at: number; cpuMs: number }>();

  constructor(
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
    private readonly pools: InstancePoolService,
    private readonly node: NodeSandbox,
  ) {}

  onApplicationBootstrap(): void {
    const idleMs = this.config.instances.idleTtlS * 1000;
    this.timers.push(
      new Periodic(Math.min(Math.max(idleMs / 4, 50), 5000), () => this.reap(idleMs)),
      new Periodic(IDLE_CPU_CHECK_MS, () => this.checkIdleCpu()),
    );
    for (const timer of this.timers) timer.start();
  }

  onApplicationShutdown(): void {
    for (const timer of this.timers) timer.stop();
  }

  private reap(idleMs: number): void {
    const now = Date.now();
    for (const pool of this.pools.all()) pool.reap(now, idleMs);
    this.pools.pruneEmpty();
    this.node.warm.reap(now, idleMs);
  }

  private checkIdleCpu(): void {
    for (const pool of this.pools.all()) {
      for (const instance of [...pool.idleInstances()]) {
        const cpuMs = instance.cgroup?.cpuUsageMs();
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
  }
}

/**
 * The runtime limits catch most overuse (RLIMIT_AS in Python, V8's heap
 * limit in Node); memory outside them (Node buffers, WASM memory) is caught
 * here from cgroups or /proc, and the instance killed.
 */
@Injectable()
export class MemoryWatchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new JsonLogger('pool');
  private readonly timer = new Periodic(MEMORY_CHECK_MS, () => this.check());

  constructor(private readonly pools: InstancePoolService) {}

  onApplicationBootstrap(): void {
    this.timer.start();
  }

  onApplicationShutdown(): void {
    this.timer.stop();
  }

  private check(): void {
    for (const pool of this.pools.all()) {
      for (const instance of pool.busyInstances()) {
        const rss = instance.residentMb();
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
  }
}
