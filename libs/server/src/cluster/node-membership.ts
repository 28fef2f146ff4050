import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { NodesRepository, type NodeLoad } from '#storage';
import { NOVA_CONFIG, type NovaConfig } from '../config/nova-config.js';
import { ServerStopping } from '../grpc/server-stopping.js';
import { JsonLogger } from '../logging/json-logger.js';
import { ThrottledLog } from '../logging/throttled-log.js';
import { buildInfo } from '../build-info.js';
import { NodeReport } from './node-report.js';
import { NovaMetrics } from '../metrics/nova-metrics.js';

/** The planes this process serves, as the cluster names them. */
export const CLUSTER_PLANES = Symbol('CLUSTER_PLANES');

const IDLE: NodeLoad = { inFlight: 0, warmInstances: 0 };

/**
 * This process as a node of the cluster: registers at start, heartbeats
 * with its load, marks itself draining before the server stops taking calls
 * (routers hear it through NOTIFY and send no more) and deregisters once
 * drained. Registers again when its row was removed while it seemed dead;
 * follows an operator's drain.
 */
@Injectable()
export class NodeMembership implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new JsonLogger('cluster');
  private readonly failures = new ThrottledLog(this.logger);
  private report: NodeReport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> | undefined;
  private drainingNow = false;
  /** performance.now() of the last heartbeat the database took. */
  private lastBeatAt = performance.now();

  constructor(
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
    @Inject(CLUSTER_PLANES) private readonly planes: string[],
    private readonly nodes: NodesRepository,
    private readonly stopping: ServerStopping,
    private readonly moduleRef: ModuleRef,
    metrics: NovaMetrics,
  ) {
    metrics.heartbeatAges(() => [[this.nodeId, (performance.now() - this.lastBeatAt) / 1000]]);
  }

  get nodeId(): string {
    return this.config.cluster.nodeId;
  }

  /** Draining: this node takes no new work (routers send none; its async workers claim none). */
  get draining(): boolean {
    return this.drainingNow;
  }

  onModuleInit(): void {
    try {
      this.report = this.moduleRef.get(NodeReport, { strict: false });
    } catch {
      this.report = undefined;
    }
    this.stopping.beforeDrain(() => this.markDraining());
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.register();
    this.timer = setInterval(() => {
      this.beat ??= this.heartbeat().finally(() => (this.beat = undefined));
    }, this.config.cluster.heartbeatMs);
    this.timer.unref();
  }

  /** After the drain: the node leaves the cluster. */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.beat;
    try {
      await this.nodes.deregister(this.nodeId);
      this.logger.info('left the cluster', { node: this.nodeId });
    } catch (error) {
      // Its heartbeat stops either way: it is dead for routing within three intervals.
      this.logger.warn('could not deregister', { node: this.nodeId, error: (error as Error).message });
    }
  }

  private async register(): Promise<void> {
    const { nodeId, advertiseAddr, heartbeatMs } = this.config.cluster;
    await this.nodes.register({
      id: nodeId,
      address: advertiseAddr,
      planes: this.planes,
      runtimes: this.report?.runtimes() ?? [],
      capacity: this.config.instances.maxInstances,
      version: buildInfo().version,
      heartbeatMs,
    });
    this.drainingNow = false;
    this.lastBeatAt = performance.now();
    this.logger.info('joined the cluster', { node: nodeId, address: advertiseAddr, planes: this.planes });
  }

  private async heartbeat(): Promise<void> {
    try {
      const status = await this.nodes.heartbeat(this.nodeId, this.report?.load() ?? IDLE);
      if (status !== undefined) this.lastBeatAt = performance.now();
      if (status === undefined) {
        if (this.stopping.signal.aborted) return;
        this.logger.warn('this node was removed from the cluster while it seemed dead: joining again', {
          node: this.nodeId,
        });
        await this.register();
      } else if (status === 'draining' && !this.drainingNow) {
        this.drainingNow = true;
        this.logger.info('drained by an operator: taking no new work', { node: this.nodeId });
      }
    } catch (error) {
      this.failures.write('warn', 'heartbeat failed', { node: this.nodeId, error: (error as Error).message });
    }
  }

  private async markDraining(): Promise<void> {
    this.drainingNow = true;
    try {
      await this.nodes.drain(this.nodeId);
    } catch (error) {
      this.logger.warn('could not mark this node draining', { node: this.nodeId, error: (error as Error).message });
    }
  }
}
