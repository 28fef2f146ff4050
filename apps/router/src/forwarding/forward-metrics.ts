import { Injectable } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { NovaMetrics, type CounterSeries, type MetricFamily } from '#server';
import { NodeDirectory } from '../nodes/node-directory.js';

/**
 * What this router sent where: each attempt on a node by outcome (ok; error:
 * the node answered with one; unavailable: it could not be reached, and
 * the call went to the next node when it could) and calls with no node to
 * go to; and the age of the last heartbeat heard of each node.
 */
@Injectable()
export class ForwardMetrics {
  private readonly forwards: MetricFamily<CounterSeries>;

  constructor(metrics: NovaMetrics, directory: NodeDirectory) {
    this.forwards = metrics.counter(
      'nova_router_forwards_total',
      'Calls this router sent to nodes, by node and outcome (ok, error, unavailable, no_node)',
      ['node', 'outcome'],
    );
    metrics.heartbeatAges(() => {
      const now = performance.now();
      return directory.all().map((node): [string, number] => [node.id, (now - node.heardAt) / 1000]);
    });
  }

  /** One attempt on a node, by the status it ended with. */
  attempt(nodeId: string, code: grpc.status): void {
    const outcome = code === grpc.status.OK ? 'ok' : code === grpc.status.UNAVAILABLE ? 'unavailable' : 'error';
    this.forwards.of(nodeId, outcome).inc();
  }

  /** A call no node could take. */
  noNode(): void {
    this.forwards.of('', 'no_node').inc();
  }
}
