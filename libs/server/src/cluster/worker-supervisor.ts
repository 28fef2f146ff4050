import { spawn, type ChildProcess } from 'node:child_process';
import type { NovaConfig } from '../config/nova-config.js';
import { WORKER_SETTINGS_ENV } from '../config/load-config.js';
import type { SettingKey } from '../config/settings.js';
import { JsonLogger } from '../logging/json-logger.js';

const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 10_000;

/** host:port with the port replaced. */
function withPort(address: string, port: number): string {
  return `${address.slice(0, address.lastIndexOf(':'))}:${port}`;
}

/**
 * The data-plane processes of `--workers N`: each runs this process's own
 * command line as a data-plane node on its own port (the listen port + 1,
 * + 2, ... when a front process keeps the port; from the port itself when
 * the supervisor serves nothing), with its own node id and an equal share
 * of the host's instance, memory and warm pool budget. A worker that dies
 * is started again; a worker whose supervisor dies stops (IPC disconnect).
 */
export class WorkerSupervisor {
  private readonly logger = new JsonLogger('workers');
  private readonly workers: (ChildProcess | undefined)[] = [];
  private stopping = false;

  constructor(
    private readonly config: NovaConfig,
    /** Where the workers' database is: the front's (an embedded one's URL) or DATABASE_URL. */
    private readonly databaseUrl: string,
    /** The first worker's port offset from the listen port: 1 behind a front process, 0 without. */
    private readonly firstOffset: number,
  ) {}

  /** What worker `index` is told, above its command line. */
  settingsOf(index: number): Partial<Record<SettingKey, unknown>> {
    const { listen } = this.config.grpc;
    const count = this.config.cluster.workers;
    const port = listen.port + this.firstOffset + index;
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    const { instances } = this.config;
    const metrics = this.config.metrics.listen;
    return {
      mode: 'dataplane',
      workers: 1,
      grpcAddr: `${host}:${port}`,
      databaseUrl: this.databaseUrl,
      nodeId: `${this.config.cluster.nodeId}-w${index + 1}`,
      advertiseAddr: withPort(this.config.cluster.advertiseAddr, port),
      maxInstances: Math.max(1, Math.floor(instances.maxInstances / count)),
      maxMemoryMb: Math.max(128, Math.floor(instances.maxMemoryMb / count)),
      warmPoolSize: Math.ceil(instances.warmPoolSize / count),
      asyncConcurrency: Math.ceil(instances.asyncConcurrency / count),
      // Each worker is its own scrape target, on the ports after the front's (as its gRPC port is).
      metricsAddr: metrics
        ? `${metrics.host.includes(':') ? `[${metrics.host}]` : metrics.host}:${metrics.port === 0 ? 0 : metrics.port + this.firstOffset + index}`
        : '',
    };
  }

  start(): void {
    if (this.config.grpc.listen.port === 0) throw new Error('--workers needs a fixed port, not 0');
    for (let index = 0; index < this.config.cluster.workers; index++) this.launch(index, RESTART_FIRST_MS);
    this.logger.info('data-plane workers started', {
      workers: this.config.cluster.workers,
      addresses: Array.from({ length: this.config.cluster.workers }, (_, i) => this.settingsOf(i)['grpcAddr']),
    });
  }

  /** Stops every worker (each drains its calls) and waits for them. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.workers.map((worker) => {
        if (!worker || worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
        return new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
          worker.kill(signal);
        });
      }),
    );
  }

  private launch(index: number, nextDelayMs: number): void {
    const started = Date.now();
    const worker = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, [WORKER_SETTINGS_ENV]: JSON.stringify(this.settingsOf(index)) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.workers[index] = worker;
    worker.once('exit', (code, signal) => {
      if (this.stopping) return;
      // A worker that ran a while before dying starts again at once; one that dies at start backs off.
      const delay = Date.now() - started > RESTART_MAX_MS ? RESTART_FIRST_MS : nextDelayMs;
      this.logger.error('data-plane worker stopped; starting it again', {
        worker: index + 1,
        code,
        signal,
        inMs: delay,
      });
      setTimeout(() => {
        if (!this.stopping) this.launch(index, Math.min(delay * 2, RESTART_MAX_MS));
      }, delay).unref();
    });
  }
}

/** In a worker: stop (draining) when the supervisor is gone, so no worker outlives it. */
export function stopWithSupervisor(): void {
  if (!process.env[WORKER_SETTINGS_ENV] || !process.send) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
