import { createServer, type Server } from 'node:http';
import { ConfigError } from '../config/load-config.js';
import type { NovaConfig } from '../config/nova-config.js';
import { JsonLogger } from '../logging/json-logger.js';
import type { NovaMetrics } from './nova-metrics.js';
import type { GrpcHealth } from '../health/grpc-health.js';

/**
 * Serves GET /metrics (Prometheus text) on NOVA_METRICS_ADDR, and GET
 * /healthz: 200 SERVING or 503 NOT_SERVING, what grpc.health.v1 answers for
 * the whole server, for load balancers whose checks cannot speak gRPC
 * (HAProxy 2.6's HTTP/2 checks reset the connection). A taken
 * default port (a second daemon on the machine) costs a warning, not the
 * start; a taken port someone chose is a configuration error.
 */
export async function startMetricsServer(
  config: NovaConfig,
  metrics: NovaMetrics,
  health: GrpcHealth,
): Promise<{ address: string; close(): Promise<void> } | undefined> {
  const listen = config.metrics.listen;
  if (!listen) return undefined;
  const logger = new JsonLogger('metrics');
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && path === '/healthz') {
      const serving = health.serving;
      response
        .writeHead(serving ? 200 : 503, { 'content-type': 'text/plain' })
        .end(serving ? 'SERVING\n' : 'NOT_SERVING\n');
      return;
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics or GET /healthz\n');
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
      (error: unknown) => {
        logger.error('metrics collection failed', { error: error instanceof Error ? error.message : String(error) });
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  const where = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (config.metrics.explicit) {
      throw new ConfigError([
        `metrics address ${where}: cannot listen (${code}); choose another with NOVA_METRICS_ADDR`,
      ]);
    }
    logger.warn('metrics not served: the default address is taken; set NOVA_METRICS_ADDR', { address: where, code });
    return undefined;
  }
  const bound = server.address();
  const address = typeof bound === 'object' && bound ? `${listen.host}:${bound.port}` : where;
  logger.info('metrics served', { address: `http://${address}/metrics` });
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
