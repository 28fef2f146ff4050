import pg from 'pg';
import type { NotifyChannel } from './notify-channels.js';
import { retryDelayMs } from './backoff.js';
import { withTimeout } from './with-timeout.js';

type Handler = (payload: string) => void;
type AvailabilityHandler = (reachable: boolean, reason: string) => void;

/** How often the held connection is asked whether it still works. */
const HEARTBEAT_MS = 5000;
/** A heartbeat unanswered this long counts as a lost database (a cut network sends no reset). */
const HEARTBEAT_TIMEOUT_MS = 3000;
const CONNECT_TIMEOUT_MS = 5000;
const RECONNECT_BASE_MS = 250;
const RECONNECT_MAX_MS = 10_000;

/**
 * One dedicated connection that LISTENs on Nova's channels and hands each
 * notification to its subscribers. It is also how the process knows whether
 * the database is reachable: the connection is held open and probed, and
 * its loss is reported at once (Health turns NOT_SERVING). There is exactly
 * one reconnect loop, with capped exponential backoff and jitter, so an
 * outage costs one connection attempt every few seconds, not a storm. After
 * a reconnect, onReconnect handlers run, because notifications sent
 * meanwhile are lost and caches must reload.
 */
export class NotificationListener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<NotifyChannel, Set<Handler>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private readonly availabilityHandlers = new Set<AvailabilityHandler>();
  private closed = false;
  private running: Promise<void> | undefined;
  private reachable = false;
  private everConnected = false;
  private lostAt: number | undefined;
  private lastReason = 'not connected yet';
  private wakeSleep: (() => void) | undefined;
  private connectedWaiters: (() => void)[] = [];
  private closeCurrent: (() => void) | undefined;

  constructor(
    private readonly url: string,
    private readonly log: (message: string) => void,
    private readonly warn: (message: string) => void = log,
  ) {}

  /** Starts holding the connection (idempotent); resolves once it is first up. */
  start(): Promise<void> {
    this.running ??= this.run();
    return this.whenConnected();
  }

  async subscribe(channel: NotifyChannel, handler: Handler): Promise<() => void> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      // A failure here means the connection is going away; the reconnect
      // LISTENs on every channel anyway.
      if (this.client) await this.client.query(`LISTEN ${channel}`).catch(() => undefined);
    }
    set.add(handler);
    await this.start();
    return () => set.delete(handler);
  }

  /** Runs handler after every reconnect (notifications sent meanwhile were lost); the returned function stops it. */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  /** Called with false the moment the connection is lost, and with true when it is back. */
  onAvailabilityChange(handler: AvailabilityHandler): void {
    this.availabilityHandlers.add(handler);
  }

  /** Whether the held connection is up; false before start and while reconnecting. */
  get isReachable(): boolean {
    return this.reachable;
  }

  /** Why the database is unreachable (the last error), for Health. */
  get unreachableReason(): string {
    return this.lastReason;
  }

  private whenConnected(): Promise<void> {
    if (this.reachable || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed) {
      let client: pg.Client | undefined;
      try {
        client = await this.connect();
        if (this.closed) {
          void client.end().catch(() => undefined);
          break;
        }
        attempt = 0;
        this.setReachable(true, 'connected');
        if (this.everConnected) this.runReconnectHandlers();
        this.everConnected = true;
        this.lastReason = await this.untilLost(client);
      } catch (error) {
        this.lastReason = (error as Error).message;
        client?.removeAllListeners('notification');
        void client?.end().catch(() => undefined);
      }
      this.client = undefined;
      if (this.closed) break;
      this.setReachable(false, this.lastReason);
      attempt += 1;
      const delay = retryDelayMs(attempt, RECONNECT_BASE_MS, RECONNECT_MAX_MS);
      // Logged on the first failure and then at attempts 2, 4, 8, ...: a long
      // outage writes a handful of lines, not one per attempt.
      if ((attempt & (attempt - 1)) === 0) {
        const downFor = this.lostAt === undefined ? 0 : Math.round((Date.now() - this.lostAt) / 1000);
        this.warn(
          `database unreachable${downFor ? ` for ${downFor} s` : ''} (attempt ${attempt}): ${this.lastReason}; next try in ${delay} ms`,
        );
      }
      await this.sleep(delay);
    }
    for (const resolve of this.connectedWaiters.splice(0)) resolve();
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'nova-listener',
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    // Without a listener an 'error' event would throw out of the process;
    // the loss itself is seen by untilLost.
    client.on('error', () => undefined);
    client.on('notification', (message) => {
      for (const handler of this.handlers.get(message.channel as NotifyChannel) ?? []) {
        try {
          handler(message.payload ?? '');
        } catch (error) {
          this.warn(`notification handler for ${message.channel} failed: ${(error as Error).message}`);
        }
      }
    });
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    return client;
  }

  /** Resolves with the reason once the connection ends, errors, or stops answering. */
  private untilLost(client: pg.Client): Promise<string> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (reason: string): void => {
        if (done) return;
        done = true;
        clearInterval(heartbeat);
        client.removeAllListeners('notification');
        // Not awaited: over a cut network the goodbye may never be answered.
        void client.end().catch(() => undefined);
        resolve(reason);
      };
      client.on('end', () => finish(this.closed ? 'closed' : 'connection ended'));
      client.on('error', (error) => finish(error.message));
      const heartbeat = setInterval(() => {
        withTimeout(client.query('SELECT 1'), HEARTBEAT_TIMEOUT_MS).catch((error: Error) => finish(error.message));
      }, HEARTBEAT_MS);
      heartbeat.unref();
      this.closeCurrent = () => finish('closed');
    });
  }

  private setReachable(reachable: boolean, reason: string): void {
    if (reachable === this.reachable) return;
    this.reachable = reachable;
    if (reachable) {
      if (this.lostAt !== undefined) {
        this.log(`database reachable again after ${((Date.now() - this.lostAt) / 1000).toFixed(1)} s`);
      }
      this.lostAt = undefined;
      for (const resolve of this.connectedWaiters.splice(0)) resolve();
    } else {
      this.lostAt = Date.now();
      this.warn(`database connection lost: ${reason}; reconnecting`);
    }
    for (const handler of this.availabilityHandlers) handler(reachable, reason);
  }

  private runReconnectHandlers(): void {
    for (const handler of this.reconnectHandlers) {
      try {
        handler();
      } catch (error) {
        this.warn(`reconnect handler failed: ${(error as Error).message}`);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      timer.unref();
      this.wakeSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeSleep?.();
    this.closeCurrent?.();
    await this.running;
  }
}
