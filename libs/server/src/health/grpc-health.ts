import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Server } from '@grpc/grpc-js';

/**
 * The standard grpc.health.v1 service. Serving from the moment the server
 * listens; NOT_SERVING as soon as shutdown starts, so that load balancers
 * stop sending calls while in-flight ones drain.
 */
export class GrpcHealth {
  private readonly implementation: HealthImplementation;

  constructor(private readonly services: readonly string[]) {
    this.implementation = new HealthImplementation(
      Object.fromEntries(['', ...services].map((name) => [name, 'NOT_SERVING' satisfies ServingStatus])),
    );
  }

  addToServer(server: Server): void {
    this.implementation.addToServer(server);
  }

  setServing(serving: boolean): void {
    const status: ServingStatus = serving ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', ...this.services]) this.implementation.setStatus(name, status);
  }
}
