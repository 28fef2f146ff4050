import { ConfigError, loadConfig, type ConfigSources } from '../config/load-config.js';
import { JsonLogger } from '../logging/json-logger.js';
import { startNovaServer, stopOnSignals } from './nova-server.js';
import type { PlaneDefinition } from './plane.js';

/**
 * The whole life of a server process: configuration, start, and shutdown on
 * signals. A bad configuration or a failed start prints why and exits 1.
 */
export async function runNovaProcess(
  sources: ConfigSources,
  planes: (mode: string) => PlaneDefinition[],
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
    const server = await startNovaServer(config, planes(config.grpc.mode));
    stopOnSignals(server);
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
