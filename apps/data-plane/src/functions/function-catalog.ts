import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  FunctionsRepository,
  NotificationListener,
  notifyChannels,
  retryDelayMs,
  type FunctionChange,
  type FunctionRecord,
} from '#storage';
import { FunctionNotFoundError, JsonLogger } from '#server';
import { catalogErrors } from './functions.errors.js';

type ChangeHandler = (name: string, record: FunctionRecord | undefined) => void;

/**
 * Every function's definition in memory, kept current by the control plane's
 * NOTIFY (the informer pattern), so that a warm invoke asks the database
 * nothing. Code is loaded on demand, once per version, on the cold path.
 */
@Injectable()
export class FunctionCatalog implements OnModuleInit {
  private readonly logger = new JsonLogger('function-catalog');
  private readonly byName = new Map<string, FunctionRecord>();
  private readonly code = new Map<string, Promise<Buffer>>();
  private readonly handlers = new Set<ChangeHandler>();

  constructor(
    private readonly functions: FunctionsRepository,
    private readonly listener: NotificationListener,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listener.subscribe(notifyChannels.functions, (payload) => {
      const change = JSON.parse(payload) as FunctionChange;
      this.refresh(change.name).catch((error: Error) => {
        // The listener reconnects (and reloads everything) if the database went away.
        this.logger.warn('could not reload a changed function', { function: change.name, error: error.message });
      });
    });
    this.listener.onReconnect(() => this.reloadUntilDone());
    await this.reloadAll();
  }

  /** After a reconnect: notifications may have been missed, so reload all, retrying until it works. */
  private reloadUntilDone(attempt = 1): void {
    this.reloadAll().catch((error: Error) => {
      this.logger.warn('could not reload functions; retrying', { attempt, error: error.message });
      setTimeout(() => this.reloadUntilDone(attempt + 1), retryDelayMs(attempt, 500, 10_000)).unref();
    });
  }

  /** The cached definition, without a query; undefined on a miss. */
  peek(name: string): FunctionRecord | undefined {
    return this.byName.get(name);
  }

  /** The cached definition; on a miss, one lookup (a function created a moment ago). */
  async get(name: string): Promise<FunctionRecord | undefined> {
    return this.byName.get(name) ?? (await this.refresh(name));
  }

  /**
   * The definition a call runs with, or FunctionNotFoundError. A hit costs no
   * promise: the warm path stays synchronous until the instance is asked.
   */
  require(name: string): FunctionRecord | Promise<FunctionRecord> {
    return this.byName.get(name) ?? this.requireFresh(name);
  }

  private async requireFresh(name: string): Promise<FunctionRecord> {
    const record = await this.refresh(name);
    if (!record) throw new FunctionNotFoundError(name);
    return record;
  }

  /** The code of one version, fetched once. */
  codeOf(record: FunctionRecord): Promise<Buffer> {
    const key = `${record.id}:${record.version}`;
    let pending = this.code.get(key);
    if (!pending) {
      pending = this.functions.findCode(record.name, record.version).then((found) => {
        if (!found || found.codeHash !== record.codeHash) {
          throw catalogErrors.versionGone(record.name, record.version);
        }
        return found.code;
      });
      pending.catch(() => this.code.delete(key));
      this.code.set(key, pending);
    }
    return pending;
  }

  all(): FunctionRecord[] {
    return [...this.byName.values()];
  }

  onChange(handler: ChangeHandler): void {
    this.handlers.add(handler);
  }

  private async refresh(name: string): Promise<FunctionRecord | undefined> {
    const record = await this.functions.findByName(name);
    const previous = this.byName.get(name);
    if (record) this.byName.set(name, record);
    else this.byName.delete(name);
    if (previous && (!record || previous.id !== record.id || previous.version !== record.version)) {
      for (const key of this.code.keys()) if (key.startsWith(`${previous.id}:`)) this.code.delete(key);
    }
    if (previous !== undefined || record !== undefined) {
      for (const handler of this.handlers) handler(name, record);
    }
    return record;
  }

  private async reloadAll(): Promise<void> {
    let offset = 0;
    const seen = new Set<string>();
    for (;;) {
      const page = await this.functions.list(1000, offset);
      for (const record of page.functions) {
        seen.add(record.name);
        const previous = this.byName.get(record.name);
        this.byName.set(record.name, record);
        if (!previous || previous.updatedAt.getTime() !== record.updatedAt.getTime()) {
          for (const handler of this.handlers) handler(record.name, record);
        }
      }
      offset += page.functions.length;
      if (page.functions.length === 0 || offset >= page.total) break;
    }
    for (const name of [...this.byName.keys()]) {
      if (!seen.has(name)) {
        this.byName.delete(name);
        for (const handler of this.handlers) handler(name, undefined);
      }
    }
    this.logger.debug('functions loaded', { count: this.byName.size });
  }
}
