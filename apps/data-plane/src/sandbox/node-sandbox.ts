import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { JsonLogger, NOVA_CONFIG, type NovaConfig } from '#server';
import { WarmPool } from '../pool/warm-pool.js';
import { describeIsolation, probeIsolation, type Isolation } from './isolation.js';
import { Sandbox } from './sandbox.js';

/**
 * What confines instances on this node, probed once at start: namespaces,
 * cgroups, seccomp, the sandbox's directories, and the warm pool of generic
 * processes started inside it. Disposed after every pool has closed.
 */
@Injectable()
export class NodeSandbox implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new JsonLogger('pool');
  isolation!: Isolation;
  sandbox!: Sandbox;
  warm!: WarmPool;

  constructor(@Inject(NOVA_CONFIG) private readonly config: NovaConfig) {}

  async onModuleInit(): Promise<void> {
    this.isolation = await probeIsolation(this.config.path);
    const described = describeIsolation(this.isolation);
    if (this.isolation.bwrap && this.isolation.cgroups) this.logger.info('function sandbox', described);
    else this.logger.warn('function sandbox is incomplete on this machine; see docs/security.md', described);
    const { tmpMb, cpus, pids } = this.config.instances;
    this.sandbox = new Sandbox(this.isolation, { tmpMb, cpus, pids });
    this.warm = new WarmPool(this.sandbox, this.config.instances.warmPoolSize);
    await this.sandbox.init();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.warm.close();
    await this.sandbox.dispose();
    await this.isolation.cgroups?.close();
  }

  /** For Health. */
  describe(): Record<string, string> {
    return describeIsolation(this.isolation);
  }
}
