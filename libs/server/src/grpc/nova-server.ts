import { type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { ReflectionService } from '@grpc/reflection';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import {
  MAX_MESSAGE_BYTES,
  healthProtoFile,
  protoLoaderOptions,
  protoRoot,
  reflectionDescriptors,
  serviceNames,
} from '#proto';
import { Database, StorageModule, listenProblem } from '#storage';
import type { NovaConfig } from '../config/nova-config.js';
import { ConfigError } from '../config/load-config.js';
import { GrpcHealth } from '../health/grpc-health.js';
import { ServerStopping } from './server-stopping.js';
import { JsonLogger, setLogLevel } from '../logging/json-logger.js';
import { setRequestContextEnabled } from '../logging/request-context.js';
import { callInterceptor } from '../logging/call-logging.interceptor.js';
import { NovaMetrics } from '../metrics/nova-metrics.js';
import { startMetricsServer } from '../metrics/metrics-server.js';
import { NovaTracing } from '../tracing/nova-tracing.js';
import { NovaServerModule } from '../nova-server.module.js';
import { ClusterMembershipModule } from '../cluster/cluster-membership.module.js';
import type { PlaneDefinition } from './plane.js';
import { markMalformedRequests } from './malformed-requests.js';

const DRAIN_TIMEOUT_MS = 15_000;
const KEEPALIVE_TIMEOUT_MS = 10_000;

export interface RunningNovaServer {
  /** host:port as bound. */
  address: string;
  /** Undefined when no plane of this server uses the database (a router, for now). */
  database: Database | undefined;
  /** Stops taking calls, drains those in flight, closes the database (once `alsoWaitFor` has settled too). */
  stop(reason: string, alsoWaitFor?: Promise<unknown>): Promise<void>;
}

/** Binds the listen address for a moment; a taken or forbidden port is a ConfigError naming the setting. */
async function checkListenAddress(config: NovaConfig): Promise<void> {
  const { host, port } = config.grpc.listen;
  const problem = await listenProblem(host, port);
  if (problem === undefined) return;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why =
    problem === 'EADDRINUSE'
      ? `${where} is already in use (another nova daemon?)`
      : problem === 'EACCES'
        ? `${where} needs privileges to listen on`
        : problem === 'EADDRNOTAVAIL'
          ? `${where} is not an address of this machine`
          : `cannot listen on ${where} (${problem})`;
  throw new ConfigError([
    `${why}; choose another with --grpc-addr, NOVA_GRPC_ADDR or grpc.addr in the config file (e.g. 127.0.0.1:9091)`,
  ]);
}

function grpcUrl(config: NovaConfig): string {
  const { host, port } = config.grpc.listen;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Starts a Nova server that serves the given planes on one port: opens the
 * database (embedded or DATABASE_URL) when a plane uses it, migrates when
 * this process may, and serves gRPC with reflection, the standard health service, call logging,
 * auth and status mapping.
 */
export async function startNovaServer(config: NovaConfig, planes: PlaneDefinition[]): Promise<RunningNovaServer> {
  setLogLevel(config.logLevel);
  setRequestContextEnabled(config.logCallContext);
  const logger = new JsonLogger('server');
  // Before the database starts or migrates: a taken port is the commonest
  // mistake, and it should cost a second, not a PostgreSQL start.
  await checkListenAddress(config);
  const metrics = new NovaMetrics(config.grpc.mode);
  const services = planes.flatMap((plane) => plane.services);
  const health = new GrpcHealth(services);
  const metricsServer = await startMetricsServer(config, metrics, health);
  const tracing = await NovaTracing.start(config);
  const database = planes.some((plane) => plane.usesDatabase)
    ? await openDatabase(config, logger).catch(async (error: unknown) => {
        await metricsServer?.close();
        throw error;
      })
    : undefined;
  const clusterPlanes = planes.filter((plane) => plane.joinsCluster).map((plane) => plane.name);
  let grpcServer: Server | undefined;

  @Module({
    imports: [
      NovaServerModule.forRoot(config, health, database !== undefined, { metrics, tracing }),
      ...(database ? [StorageModule.forDatabase(database)] : []),
      ...(database && clusterPlanes.length > 0 ? [ClusterMembershipModule.forPlanes(clusterPlanes)] : []),
      ...planes.map((plane) => plane.module),
    ],
  })
  class NovaRootModule {}

  const url = grpcUrl(config);
  let app: INestMicroservice | undefined;
  // Nest calls onLoadPackageDefinition from listen(), once the app exists.
  const nestContext = (): INestMicroservice => {
    if (!app) throw new Error('the server is not built yet');
    return app;
  };
  try {
    app = await NestFactory.createMicroservice<MicroserviceOptions>(NovaRootModule, {
      logger: new JsonLogger('nest', 'debug'),
      transport: Transport.GRPC,
      options: {
        url,
        package: [...new Set(planes.flatMap((plane) => plane.packages))],
        protoPath: [...new Set(planes.flatMap((plane) => plane.protoFiles)), healthProtoFile],
        loader: { ...protoLoaderOptions, includeDirs: [protoRoot] },
        gracefulShutdown: true,
        ...(config.tls.server ? { credentials: serverCredentials(config.tls.server) } : {}),
        maxReceiveMessageLength: MAX_MESSAGE_BYTES,
        maxSendMessageLength: MAX_MESSAGE_BYTES,
        channelOptions: {
          interceptors: [callInterceptor(metrics, tracing)],
          // Connections cost a descriptor and memory each: idle ones are
          // closed, silent ones (dead, half-open, stuck before the
          // handshake) found by pings, and calls per connection bounded.
          'grpc.max_connection_idle_ms': config.grpc.idleTimeoutS * 1000,
          'grpc.keepalive_time_ms': config.grpc.keepaliveS * 1000,
          'grpc.keepalive_timeout_ms': Math.min(KEEPALIVE_TIMEOUT_MS, config.grpc.keepaliveS * 1000),
          'grpc.max_concurrent_streams': config.grpc.maxStreams,
          // Channelz (grpc-js's per-call and per-socket counters) is on by
          // default and costs every call; Nova serves no channelz service.
          'grpc.enable_channelz': 0,
        },
        onLoadPackageDefinition: (definition: PackageDefinition, server: Server) => {
          grpcServer = server;
          markMalformedRequests(definition);
          new ReflectionService(reflectionDescriptors(), {
            services: [...services, serviceNames.health],
          }).addToServer(server);
          health.addToServer(server);
          for (const plane of planes) {
            for (const raw of plane.rawServices?.(nestContext()) ?? [])
              server.addService(raw.definition, raw.implementation);
          }
        },
      },
    });
    await app.listen();
  } catch (error) {
    await app?.close().catch(() => undefined);
    await database?.close();
    await metricsServer?.close();
    throw error;
  }
  // Serving while the database can be reached: a node that cannot record or
  // look anything up should get no new calls from a load balancer.
  let stopping: Promise<void> | undefined;
  database?.listener.onAvailabilityChange((reachable) => {
    if (!stopping) health.setServing(reachable);
  });
  health.setServing(database?.listener.isReachable ?? true);
  logger.info('nova listening', {
    address: url,
    mode: config.grpc.mode,
    planes: planes.map((plane) => plane.name),
    database: !database ? 'none' : database.isEmbedded ? `embedded (${config.dataDir})` : 'DATABASE_URL',
    auth: config.auth,
    tls: !config.tls.server ? 'off' : config.tls.server.clientCa ? 'mutual' : 'on',
    metrics: metricsServer ? `http://${metricsServer.address}/metrics` : 'off',
    tracing: tracing.enabled ? 'otlp' : 'off',
  });

  const nestApp = app;
  return {
    address: url,
    database,
    stop(reason: string, alsoWaitFor?: Promise<unknown>) {
      stopping ??= (async () => {
        logger.info('shutting down: draining calls', { reason });
        health.setServing(false);
        await nestApp.get(ServerStopping).begin();
        const force = setTimeout(() => {
          logger.warn('drain timed out; cancelling the remaining calls', { afterMs: DRAIN_TIMEOUT_MS });
          grpcServer?.forceShutdown();
        }, DRAIN_TIMEOUT_MS);
        try {
          await nestApp.close();
        } finally {
          clearTimeout(force);
          // Data-plane workers may use this process's database until they have drained.
          await alsoWaitFor?.catch(() => undefined);
          await database?.close();
          await metricsServer?.close();
          await tracing.shutdown();
        }
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}

/** TLS on the gRPC port; with a client CA, a client without a certificate it signed is refused in the handshake. */
function serverCredentials(tls: NonNullable<NovaConfig['tls']['server']>): ServerCredentials {
  return ServerCredentials.createSsl(
    tls.clientCa ?? null,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    tls.clientCa !== undefined,
  );
}

/** Stops the server (and its data-plane workers) on SIGINT or SIGTERM; a second signal exits at once. */
export function stopOnSignals(
  server: RunningNovaServer,
  workers?: { stop(signal: NodeJS.Signals): Promise<void> },
): void {
  const logger = new JsonLogger('server');
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      logger.warn('second signal: exiting without draining', { signal });
      process.exit(1);
    }
    received = true;
    const workersStopped = workers?.stop(signal);
    Promise.all([workersStopped, server.stop(signal, workersStopped)]).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error: error instanceof Error ? error.stack : String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Opens the database, migrates when this process may, and starts the listener. */
async function openDatabase(config: NovaConfig, logger: JsonLogger): Promise<Database> {
  const database = await Database.open({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    log: (message) => logger.info(message),
    warn: (message) => logger.warn(message),
    preparedStatements: config.databasePreparedStatements,
  });
  try {
    // Unified mode and the embedded database are single-deployment setups:
    // migrate at start. Separate planes on a shared database expect the
    // explicit `nova migrate` step, run once per release.
    if (config.grpc.mode === 'unified' || database.isEmbedded) {
      const ran = await database.migrate();
      if (ran.length > 0) logger.info('migrations applied', { migrations: ran });
    } else if (await database.hasPendingMigrations()) {
      throw new Error('the database has pending migrations: run `nova migrate` first');
    }
    await database.listener.start();
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}
