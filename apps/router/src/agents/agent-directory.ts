import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES } from '#proto';
import {
  AgentRegistryRepository,
  NotificationListener,
  notifyChannels,
  retryDelayMs,
  type RegisteredKind,
  type RegisteredRecord,
  type RegistryChange,
} from '#storage';
import { JsonLogger, raise } from '#server';
import { clientIdOf } from './agent-ids.js';
import { BackendState, probe, type BackendStatus } from './backend-health.js';
import { agentsErrors } from './agents.errors.js';

/** Every 2 s, as seed 004's HAProxy checks its servers. */
const CHECK_EVERY_MS = 2000;
const CHECK_TIMEOUT_MS = 1000;
const FUNCTION_PREFIX = 'function:';

export type Backend = { target: string } & ({ functionName: string } | { address: string });

export interface Registered extends RegisteredRecord {
  parsedBackends: Backend[];
}

interface Endpoint {
  client: grpc.Client;
  state: BackendState;
}

/** "function:NAME" or "host:port"; what RegisterAgent's endpoint field and manifests hold, comma-separated. */
export function parseBackends(endpoint: string, id: string): string[] {
  const targets = endpoint
    .split(',')
    .map((target) => target.trim())
    .filter((target) => target !== '');
  return targets.length > 0 ? targets : [`${FUNCTION_PREFIX}${id}`];
}

function toBackend(target: string): Backend {
  return target.startsWith(FUNCTION_PREFIX)
    ? { target, functionName: target.slice(FUNCTION_PREFIX.length) }
    : { target, address: target.replace(/^(grpc|dns):\/\/\/?/, '') };
}

/**
 * The agent platform's registry as this process serves it: agents, tools
 * and workers kept in memory and current through NOTIFY, their external
 * endpoints health-checked every 2 s (rise 2, fall 3), and calls spread
 * round robin over the backends that are not unhealthy.
 */
@Injectable()
export class AgentDirectory implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new JsonLogger('agents');
  private entries = new Map<string, Registered>();
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly turns = new Map<string, number>();
  private readonly active = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly registry: AgentRegistryRepository,
    private readonly listener: NotificationListener,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listener.subscribe(notifyChannels.agentRegistry, (payload) => {
      const change = JSON.parse(payload) as RegistryChange;
      void this.refresh(change.kind, change.id);
    });
    this.listener.onReconnect(() => this.reloadUntilDone());
    await this.reload();
    this.timer = setInterval(() => void this.checkAll(), CHECK_EVERY_MS);
    this.timer.unref();
    void this.checkAll();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    for (const endpoint of this.endpoints.values()) endpoint.client.close();
  }

  /** The registered agent, tool or worker, by either form of its id; NOT_FOUND otherwise. */
  require(kind: RegisteredKind, id: string): Registered {
    return this.entries.get(keyOf(kind, clientIdOf(kind, id))) ?? raise(agentsErrors.notRegistered(kind, id));
  }

  list(kind: RegisteredKind): Registered[] {
    return [...this.entries.values()].filter((entry) => entry.kind === kind);
  }

  all(): Registered[] {
    return [...this.entries.values()];
  }

  /** The next backend to use, round robin over those not unhealthy; UNAVAILABLE when none is left. */
  pick(entry: Registered): Backend {
    const usable = entry.parsedBackends.filter((backend) => this.statusOf(backend) !== 'unhealthy');
    if (usable.length === 0) throw agentsErrors.noHealthyBackend(entry.kind, entry.id, entry.backends);
    const key = keyOf(entry.kind, entry.id);
    const turn = this.turns.get(key) ?? 0;
    this.turns.set(key, turn + 1);
    return usable[turn % usable.length]!;
  }

  statusOf(backend: Backend): BackendStatus {
    if ('functionName' in backend) return 'healthy';
    return this.endpoints.get(backend.address)?.state.status ?? 'unknown';
  }

  healthy(entry: Registered): boolean {
    return entry.parsedBackends.some((backend) => this.statusOf(backend) !== 'unhealthy');
  }

  clientFor(address: string): grpc.Client {
    return this.endpoint(address).client;
  }

  /** Counts a task in flight on it for GetStatus; the returned function ends it. */
  begin(entry: Registered): () => void {
    const key = keyOf(entry.kind, entry.id);
    this.active.set(key, (this.active.get(key) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.active.get(key) ?? 1) - 1;
      if (left > 0) this.active.set(key, left);
      else this.active.delete(key);
    };
  }

  activeTasks(entry: Registered): number {
    return this.active.get(keyOf(entry.kind, entry.id)) ?? 0;
  }

  private endpoint(address: string): Endpoint {
    let endpoint = this.endpoints.get(address);
    if (!endpoint) {
      endpoint = {
        client: new grpc.Client(address, grpc.credentials.createInsecure(), {
          'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
          'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
          'grpc.initial_reconnect_backoff_ms': 100,
          'grpc.max_reconnect_backoff_ms': 1000,
        }),
        state: new BackendState(),
      };
      this.endpoints.set(address, endpoint);
    }
    return endpoint;
  }

  private async checkAll(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await Promise.all(
        [...this.endpoints.entries()].map(async ([address, endpoint]) => {
          const passed = await probe(endpoint.client, address, CHECK_TIMEOUT_MS);
          if (endpoint.state.record(passed)) {
            const level = endpoint.state.status === 'healthy' ? 'info' : 'warn';
            this.logger.write(level, `endpoint ${endpoint.state.status}`, { address });
          }
        }),
      );
    } finally {
      this.checking = false;
    }
  }

  private async refresh(kind: RegisteredKind, id: string): Promise<void> {
    try {
      const record = await this.registry.get(kind, id);
      if (record) this.add(record);
      else this.entries.delete(keyOf(kind, id));
      this.closeUnused();
    } catch (error) {
      this.logger.warn('could not read a changed registration', { kind, id, error: (error as Error).message });
    }
  }

  private add(record: RegisteredRecord): void {
    const entry: Registered = { ...record, parsedBackends: record.backends.map(toBackend) };
    for (const backend of entry.parsedBackends) if ('address' in backend) this.endpoint(backend.address);
    this.entries.set(keyOf(record.kind, record.id), entry);
  }

  private closeUnused(): void {
    const used = new Set(
      this.all().flatMap((entry) =>
        entry.parsedBackends.flatMap((backend) => ('address' in backend ? [backend.address] : [])),
      ),
    );
    for (const [address, endpoint] of this.endpoints) {
      if (used.has(address)) continue;
      endpoint.client.close();
      this.endpoints.delete(address);
    }
  }

  private async reload(): Promise<void> {
    const records = await this.registry.list();
    this.entries = new Map();
    for (const record of records) this.add(record);
    this.closeUnused();
  }

  private reloadUntilDone(attempt = 1): void {
    this.reload().catch((error: Error) => {
      this.logger.warn('could not reload the agent registry; retrying', { attempt, error: error.message });
      setTimeout(() => this.reloadUntilDone(attempt + 1), retryDelayMs(attempt, 500, 10_000)).unref();
    });
  }
}

function keyOf(kind: RegisteredKind, id: string): string {
  return `${kind}/${id}`;
}
