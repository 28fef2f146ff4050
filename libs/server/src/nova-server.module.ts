import { type DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { NOVA_CONFIG, type NovaConfig } from './config/nova-config.js';
import { ApiKeyVerifier } from './auth/api-key-verifier.js';
import { AuthGuard } from './auth/auth.guard.js';
import { GrpcStatusFilter } from './errors/grpc-status.filter.js';
import { GrpcHealth } from './health/grpc-health.js';
import { ServerStopping } from './grpc/server-stopping.js';
import { NovaMetrics } from './metrics/nova-metrics.js';
import { NovaTracing } from './tracing/nova-tracing.js';

/** What every Nova server shares: its config, auth, error mapping, metrics registry and tracer. */
@Global()
@Module({})
export class NovaServerModule {
  /** withAuth: whether API keys can be checked (they live in the database). */
  static forRoot(
    config: NovaConfig,
    health: GrpcHealth,
    withAuth: boolean,
    observability: { metrics: NovaMetrics; tracing: NovaTracing } = {
      metrics: new NovaMetrics(config.grpc.mode),
      tracing: NovaTracing.off,
    },
  ): DynamicModule {
    return {
      module: NovaServerModule,
      providers: [
        { provide: NOVA_CONFIG, useValue: config },
        { provide: GrpcHealth, useValue: health },
        { provide: NovaMetrics, useValue: observability.metrics },
        { provide: NovaTracing, useValue: observability.tracing },
        ServerStopping,
        ...(withAuth ? [ApiKeyVerifier, { provide: APP_GUARD, useClass: AuthGuard }] : []),
        { provide: APP_FILTER, useClass: GrpcStatusFilter },
      ],
      exports: [NOVA_CONFIG, GrpcHealth, ServerStopping, NovaMetrics, NovaTracing],
    };
  }
}
