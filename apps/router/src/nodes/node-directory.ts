import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  NodesRepository,
  NotificationListener,
  notifyChannels,
  retryDelayMs,
  type NodeChange,
  type NodeRecord,
} from '#storage';
import { JsonLogger } from '#server';
import { NodeChannels } from './node-channels.js';

/** A node as this router routes to it. */
export interface RoutedNode {
  id: string;
  address: string;
  planes: readonly string[];
  /** Draining nodes get no new calls. */
  draining: boolean;
  heartbeatMs: number;
  /** When this router last heard a heartbeat of it (performance.now()). */
  heardAt: number;
  /** Calls that failed on it in a row. */
  failures: number;
  /** Out of rotation after failures in a row, until its next heartbeat and a passing health check. */
  ejected: boolean;
}

export type PlaneName = 'data-plane' | 'control-plane';

const EJECT_AFTER_FAILURES = 3;
/** How often nodes whose heartbeat stopped are noticed; dead takes three intervals, so this is well inside it. */
const EXPIRY_CHECK_MS = 200;

/**
 * The cluster as this router sees it: every node, kept current by the
 * nova_nodes NOTIFY (registrations, heartbeats, drains, departures), so a
 * call asks the database nothing. A node is routable while it is live, not
 * ejected and heard from within three of its heartbeat intervals. Routable
 * lists are rebuilt only when something changes.
 */
@Injectable()
export class NodeDirectory implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new JsonLogger('router');
  private readonly nodes = new Map<string, RoutedNode>();
  private readonly routableByPlane = new Map<PlaneName, RoutedNode[]>();
  private readonly checking = new Set<string>();
  private expiryTimer: NodeJS.Timeout | undefined;
  /** Bumped on every change to what is routable, so callers can cache by it. */
  private generation = 0;

  constructor(
    private readonly repository: NodesRepository,
    private readonly listener: NotificationListener,
    private readonly channels: NodeChannels,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listener.subscribe(notifyChannels.nodes, (payload) => this.onChange(JSON.parse(payload) as NodeChange));
    this.listener.onReconnect(() => this.reloadUntilDone());
    await this.reload();
    this.expiryTimer = setInterval(() => this.expire(), EXPIRY_CHECK_MS);
    this.expiryTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.expiryTimer);
  }

  get version(): number {
    return this.generation;
  }

  /** Nodes that take calls of a plane now, in a stable order (by id). */
  routable(plane: PlaneName): readonly RoutedNode[] {
    let list = this.routableByPlane.get(plane);
    if (!list) {
      const now = performance.now();
      list = [...this.nodes.values()]
        .filter((node) => node.planes.includes(plane) && isRoutable(node, now))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      this.routableByPlane.set(plane, list);
    }
    return list;
  }

  /** Every node this router knows, for its Health. */
  all(): readonly RoutedNode[] {
    return [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  isAlive(node: RoutedNode): boolean {
    return performance.now() - node.heardAt <= 3 * node.heartbeatMs;
  }

  succeeded(node: RoutedNode): void {
    node.failures = 0;
  }

  /** A call could not reach the node; after three in a row it is ejected until it heartbeats and passes a health check. */
  failed(node: RoutedNode, reason: string): void {
    node.failures += 1;
    if (node.failures >= EJECT_AFTER_FAILURES && !node.ejected) {
      node.ejected = true;
      this.logger.warn('node ejected: calls to it failed in a row', {
        node: node.id,
        address: node.address,
        failures: node.failures,
        reason,
      });
      this.changed();
    }
  }

  private onChange(change: NodeChange): void {
    const node = this.nodes.get(change.id);
    switch (change.op) {
      case 'heartbeat':
        if (!node) return void this.fetch(change.id);
        if (!this.isAlive(node)) this.changed();
        node.heardAt = performance.now();
        if (node.ejected) void this.readmit(node);
        return;
      case 'registered':
      case 'draining':
        return void this.fetch(change.id);
      case 'deregistered':
      case 'removed':
        return this.forget(change.id);
    }
  }

  private async fetch(id: string): Promise<void> {
    try {
      const record = await this.repository.get(id);
      if (record) this.upsert(record);
      else this.forget(id);
    } catch (error) {
      this.logger.warn('could not read a changed node', { node: id, error: (error as Error).message });
    }
  }

  private upsert(record: NodeRecord): void {
    const known = this.nodes.get(record.id);
    if (known && known.address !== record.address) this.channels.close(known.address);
    const node: RoutedNode = {
      id: record.id,
      address: record.address,
      planes: record.planes,
      draining: record.status === 'draining',
      heartbeatMs: record.heartbeatMs,
      heardAt: record.status === 'dead' ? -Infinity : performance.now(),
      // A node that registers again (a restart) starts clean.
      failures: 0,
      ejected: false,
    };
    if (!known) this.logger.info('node joined', { node: node.id, address: node.address, planes: node.planes });
    else if (node.draining && !known.draining) this.logger.info('node draining', { node: node.id });
    this.nodes.set(node.id, node);
    this.changed();
  }

  private forget(id: string): void {
    const node = this.nodes.get(id);
    if (!node) return;
    this.nodes.delete(id);
    if (![...this.nodes.values()].some((other) => other.address === node.address)) this.channels.close(node.address);
    this.logger.info('node left', { node: id, address: node.address });
    this.changed();
  }

  private async readmit(node: RoutedNode): Promise<void> {
    if (this.checking.has(node.id)) return;
    this.checking.add(node.id);
    try {
      if (!(await this.channels.healthy(node.address))) return;
      if (this.nodes.get(node.id) !== node || !node.ejected) return;
      node.ejected = false;
      node.failures = 0;
      this.logger.info('node readmitted: it heartbeats and passes its health check', { node: node.id });
      this.changed();
    } finally {
      this.checking.delete(node.id);
    }
  }

  /** Nodes whose heartbeat stopped fall out of the routable lists. */
  private expire(): void {
    const now = performance.now();
    for (const list of this.routableByPlane.values()) {
      if (list.some((node) => !isRoutable(node, now))) {
        for (const node of list) {
          if (!isRoutable(node, now) && !node.ejected && !node.draining) {
            this.logger.warn('node dead: no heartbeat for three intervals', { node: node.id });
          }
        }
        this.changed();
        return;
      }
    }
  }

  private async reload(): Promise<void> {
    const records = await this.repository.list();
    const ids = new Set(records.map((record) => record.id));
    for (const id of [...this.nodes.keys()]) if (!ids.has(id)) this.forget(id);
    for (const record of records) this.upsert(record);
  }

  /** After a reconnect notifications may have been missed: read the whole set again, retrying until it works. */
  private reloadUntilDone(attempt = 1): void {
    this.reload().catch((error: Error) => {
      this.logger.warn('could not reload the nodes; retrying', { attempt, error: error.message });
      setTimeout(() => this.reloadUntilDone(attempt + 1), retryDelayMs(attempt, 500, 10_000)).unref();
    });
  }

  private changed(): void {
    this.generation += 1;
    this.routableByPlane.clear();
  }
}

function isRoutable(node: RoutedNode, now: number): boolean {
  return !node.draining && !node.ejected && now - node.heardAt <= 3 * node.heartbeatMs;
}
