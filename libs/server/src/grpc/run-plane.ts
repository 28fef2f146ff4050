import { Database } from '#storage';
import { ConfigError, loadConfig, type ConfigSources } from '../config/load-config.js';
import type { NovaConfig } from '../config/nova-config.js';
import { JsonLogger } from '../logging/json-logger.js';
import { stopWithSupervisor, WorkerSupervisor } from '../cluster/worker-supervisor.js';
import { startNovaServer, stopOnSignals } from './nova-server.js';
import type { PlaneDefinition } from './plane.js';

/**
 * The whole life of a server process: configuration, start, and shutdown on
 * signals. A bad configuration or a failed start prints why and exits 1.
 */
export async function runNovaProcess(
  sources: ConfigSources,
  planes: (config: NovaConfig) => PlaneDefinition[],
): Promise<void> {
  const logger = new JsonLogger('server');
  // Last resort: a promise someone forgot to handle (a query during a
  // database outage, say) is a bug to log, not a reason to drop every call
  // in flight on this node.
  process.on('unhandledRejection', (reason) => {
    logger.error('unhandled promise rejection', {
      error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
    });
  });
  // A signal while starting (right after "nova listening", say) must not
  // kill the process with the database half-owned: note it, and stop
  // properly once started.
  let early: NodeJS.Signals | undefined;
  const noteEarly = (signal: NodeJS.Signals): void => {
    early ??= signal;
  };
  process.on('SIGINT', noteEarly).on('SIGTERM', noteEarly);
  try {
    const config = loadConfig(sources);
    stopWithSupervisor();
    const { workers } = config.cluster;
    if (workers > 1 && config.grpc.mode === 'dataplane') {
      await superviseOnly(config, logger);
    } else {
      const server = await startNovaServer(config, planes(config));
      let supervisor: WorkerSupervisor | undefined;
      if (workers > 1 && config.grpc.mode === 'unified' && server.database) {
        // The front process keeps the port (control plane, routing to its workers); the workers take the next ones.
        supervisor = new WorkerSupervisor(config, server.database.url, 1);
        supervisor.start();
      }
      stopOnSignals(server, supervisor);
    }
    if (early) process.kill(process.pid, early);
  } catch (error) {
    // Why it did not start is for a person to read: plain text on stderr,
    // as every CLI error is ("error: ..."), and a log line for collectors.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message}\n`);
    if (!(error instanceof ConfigError)) logger.error('start failed', { error: message });
    process.exitCode = 1;
    // Let the log line flush; exit explicitly because handles (pg pools) may linger.
    setImmediate(() => process.exit(1));
  } finally {
    process.off('SIGINT', noteEarly).off('SIGTERM', noteEarly);
  }
}

/**
 * `--mode dataplane --workers N`: this process serves nothing itself; it
 * runs the N data-plane workers (from the listen port up) and stops them on
 * a signal. Without DATABASE_URL it holds the embedded database for them.
 */
async function superviseOnly(config: NovaConfig, logger: JsonLogger): Promise<void> {
  const embedded = config.databaseUrl
    ? undefined
    : await Database.open({ databaseUrl: undefined, dataDir: config.dataDir, log: (m) => logger.info(m), poolSize: 1 });
  if (embedded) await embedded.migrate();
  const supervisor = new WorkerSupervisor(config, config.databaseUrl ?? embedded!.url, 0);
  supervisor.start();
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) process.exit(1);
    received = true;
    void supervisor
      .stop(signal)
      .then(() => embedded?.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
}
