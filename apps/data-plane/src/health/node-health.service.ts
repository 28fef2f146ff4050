import { Injectable } from '@nestjs/common';
import { Database, NotificationListener } from '#storage';
import { RuntimeCatalog } from '#runtimes';
import { InstancePoolService } from '../pool/instance-pool.service.js';
import { NodeSandbox } from '../sandbox/node-sandbox.js';

export interface NodeHealth {
  healthy: boolean;
  components: Record<string, string>;
}

const DATABASE_CHECK_TIMEOUT_MS = 2000;

/** Whether this data-plane node can do its work: reach the database and run its runtimes. */
@Injectable()
export class NodeHealthService {
  constructor(
    private readonly database: Database,
    private readonly listener: NotificationListener,
    private readonly runtimes: RuntimeCatalog,
    private readonly pools: InstancePoolService,
    private readonly node: NodeSandbox,
  ) {}

  async check(): Promise<NodeHealth> {
    const components: Record<string, string> = {};
    let healthy = true;

    const started = performance.now();
    try {
      // The held connection knows of an outage at once; no need to wait for a query to time out.
      if (!this.listener.isReachable) throw new Error(`unreachable: ${this.listener.unreachableReason}`);
      await this.database.ping(DATABASE_CHECK_TIMEOUT_MS);
      components['database'] = `ok (${(performance.now() - started).toFixed(1)} ms)`;
    } catch (error) {
      healthy = false;
      components['database'] = `error: ${(error as Error).message}`;
    }

    for (const runtime of this.runtimes.list()) {
      components[`runtime.${runtime.id}`] = `ok (${runtime.name} ${runtime.version})`;
    }
    for (const [id, reason] of Object.entries(this.runtimes.unavailable())) {
      components[`runtime.${id}`] = `unavailable: ${reason}`;
    }
    const instances = this.pools.summary();
    components['instances'] = `${instances.busy} busy, ${instances.idle} idle, ${instances.starting} starting`;
    components['warm_pool'] =
      Object.entries(instances.generic)
        .map(([profile, ready]) => `${profile}: ${ready} ready`)
        .join(', ') || 'empty';
    Object.assign(components, this.node.describe());
    return { healthy, components };
  }
}
