import { Injectable, type OnModuleInit } from '@nestjs/common';
import { InvocationsRepository, NotificationListener, notifyChannels, type InvocationDetail } from '#storage';
import { JsonLogger } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';

interface Follower {
  functionName: string;
  deliver: (invocation: InvocationDetail) => void;
}

/**
 * Invocations as they finish, on any node: every writer of a finished
 * invocation NOTIFYs its id on nova_invocations in the writing statement;
 * this process listens once and, while someone follows, reads each batch of
 * ids once and hands every record to the followers that want it.
 */
@Injectable()
export class LiveInvocationLogs implements OnModuleInit {
  private readonly logger = new JsonLogger('live-logs');
  private readonly followers = new Set<Follower>();
  /** Batches are read one after another, so followers see them in the order they were written. */
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly invocations: InvocationsRepository,
    private readonly listener: NotificationListener,
    private readonly catalog: FunctionCatalog,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listener.subscribe(notifyChannels.invocationsFinished, (payload) => this.onFinished(payload));
  }

  /**
   * Calls deliver with each invocation of the function (of every function
   * when empty) that finishes from now on; the returned function stops it.
   * An unknown function is NOT_FOUND.
   */
  async follow(functionName: string, deliver: Follower['deliver']): Promise<() => void> {
    if (functionName !== '') await this.catalog.require(functionName);
    const follower = { functionName, deliver };
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  private onFinished(payload: string): void {
    if (this.followers.size === 0) return;
    const ids = payload.split(',').filter((id) => id !== '');
    this.reading = this.reading
      .then(() => this.invocations.findMany(ids))
      .then((finished) => {
        for (const invocation of finished) {
          for (const follower of this.followers) {
            if (follower.functionName === '' || follower.functionName === invocation.functionName) {
              follower.deliver(invocation);
            }
          }
        }
      })
      .catch((error: Error) => this.logger.warn('could not read finished invocations', { error: error.message }));
  }
}
