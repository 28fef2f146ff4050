import { Injectable, type OnModuleInit } from '@nestjs/common';
import { FunctionsRepository, NotificationListener, notifyChannels, type FunctionChange } from '#storage';
import { JsonLogger } from '#server';

/** What a function may run on one node when the router has not heard of it yet (the control plane's defaults). */
const DEFAULT_CALLS_PER_NODE = 10;

/**
 * Each function's calls at once per node (max_replicas × concurrency), kept current by the
 * control plane's NOTIFY as the data plane keeps its catalog: a node whose
 * calls in flight for a function reach it is saturated for that function.
 */
@Injectable()
export class FunctionCapacities implements OnModuleInit {
  private readonly logger = new JsonLogger('router');
  private byName = new Map<string, number>();

  constructor(
    private readonly functions: FunctionsRepository,
    private readonly listener: NotificationListener,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listener.subscribe(notifyChannels.functions, (payload) => {
      const change = JSON.parse(payload) as FunctionChange;
      if (change.op === 'deleted') return void this.byName.delete(change.name);
      this.functions.callsPerNode(change.name).then(
        (found) => found.forEach((max, name) => this.byName.set(name, max)),
        (error: Error) =>
          this.logger.warn('could not read a changed function', { function: change.name, error: error.message }),
      );
    });
    this.listener.onReconnect(() => void this.reload().catch(() => undefined));
    await this.reload();
  }

  /** Calls of the function one node runs at once. */
  of(name: string): number {
    return this.byName.get(name) ?? DEFAULT_CALLS_PER_NODE;
  }

  private async reload(): Promise<void> {
    this.byName = await this.functions.callsPerNode();
  }
}
