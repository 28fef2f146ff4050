import pg from 'pg';
import type { NotifyChannel } from './notify-channels.js';

type Handler = (payload: string) => void;

/**
 * One dedicated connection that LISTENs on Nova's channels and hands each
 * notification to its subscribers. After a dropped connection it reconnects
 * and calls onReconnect, because notifications sent meanwhile are lost and
 * caches must reload.
 */
export class NotificationListener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<NotifyChannel, Set<Handler>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private closed = false;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly log: (message: string) => void,
  ) {}

  async subscribe(channel: NotifyChannel, handler: Handler): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      if (this.client) await this.client.query(`LISTEN ${channel}`);
    }
    set.add(handler);
    await this.ensureConnected();
    return () => set.delete(handler);
  }

  onReconnect(handler: () => void): void {
    this.reconnectHandlers.add(handler);
  }

  private ensureConnected(): Promise<void> {
    this.connecting ??= this.connect(false);
    return this.connecting;
  }

  private async connect(isReconnect: boolean): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'nova-listener' });
    client.on('notification', (message) => {
      for (const handler of this.handlers.get(message.channel as NotifyChannel) ?? []) handler(message.payload ?? '');
    });
    client.on('error', (error) => {
      this.log(`notification listener connection error: ${error.message}`);
    });
    client.on('end', () => {
      if (this.closed) return;
      this.client = undefined;
      this.scheduleReconnect();
    });
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
    this.client = client;
    if (isReconnect) for (const handler of this.reconnectHandlers) handler();
  }

  private scheduleReconnect(): void {
    setTimeout(() => {
      if (this.closed) return;
      this.connect(true).catch((error: Error) => {
        this.log(`notification listener reconnect failed: ${error.message}`);
        this.scheduleReconnect();
      });
    }, 1000).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }
}
