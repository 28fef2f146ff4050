import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  FunctionsRepository,
  NotificationListener,
  notifyChannels,
  retryDelayMs,
  type FunctionChange,
  type FunctionRecord,
  type VersionTarget,
} from '#storage';
import {
  AliasNotFoundError,
  FunctionNotFoundError,
  InvalidArgumentError,
  JsonLogger,
  VersionNotFoundError,
} from '#server';
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
  /** What each older version runs, by "id:version": immutable once stored. */
  private readonly versions = new Map<string, Promise<VersionTarget | undefined>>();
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

  /**
   * The definition a call runs with, as it named it: "name" (the latest
   * version), "name:3", "name:latest", "name:alias" (a canary alias picks one
   * of its two versions per call), or a version number beside the name.
   * Without a qualifier or version this is require(name), synchronous on a hit.
   */
  resolve(target: string, version = 0): FunctionRecord | Promise<FunctionRecord> {
    const colon = target.indexOf(':');
    if (colon < 0 && version === 0) return this.require(target);
    return this.resolveQualified(
      colon < 0 ? target : target.slice(0, colon),
      colon < 0 ? '' : target.slice(colon + 1),
      version,
    );
  }

  private async resolveQualified(name: string, qualifier: string, version: number): Promise<FunctionRecord> {
    if (!Number.isInteger(version) || version < 0) {
      throw new InvalidArgumentError('version', `must be a version number, 1 or more (got ${version})`);
    }
    if (qualifier !== '' && version !== 0) {
      throw new InvalidArgumentError('version', `give a version or "${name}:${qualifier}", not both`);
    }
    const latest = await this.require(name);
    let wanted = version;
    if (/^[1-9]\d{0,8}$/.test(qualifier)) wanted = Number(qualifier);
    else if (qualifier === 'latest') return latest;
    else if (qualifier !== '') {
      const alias = latest.aliases[qualifier];
      if (!alias) throw new AliasNotFoundError(name, qualifier);
      wanted = alias.canaryWeight > 0 && Math.random() * 100 < alias.canaryWeight ? alias.canaryVersion : alias.version;
    }
    if (wanted === latest.version) return latest;
    const target = await this.versionOf(latest, wanted);
    if (!target) throw new VersionNotFoundError(name, wanted);
    // Settings are the function's, current; code and handler are the version's.
    return { ...latest, ...target };
  }

  private versionOf(record: FunctionRecord, version: number): Promise<VersionTarget | undefined> {
    const key = `${record.id}:${version}`;
    let pending = this.versions.get(key);
    if (!pending) {
      pending = this.functions.findVersion(record.id, version);
      // A version that is not there yet may be made later; only found ones are kept.
      pending.then(
        (found) => found ?? this.versions.delete(key),
        () => this.versions.delete(key),
      );
      this.versions.set(key, pending);
    }
    return pending;
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
      // Code is held only until a version's directory is written; a pinned older version fetches it again.
      for (const key of this.code.keys()) if (key.startsWith(`${previous.id}:`)) this.code.delete(key);
    }
    if (previous && (!record || previous.id !== record.id)) {
      for (const key of this.versions.keys()) if (key.startsWith(`${previous.id}:`)) this.versions.delete(key);
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
