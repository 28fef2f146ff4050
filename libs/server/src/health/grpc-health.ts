import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { Server } from '@grpc/grpc-js';

/**
 * What a liveness probe asks for: SERVING while the process answers at all,
 * also while it drains or waits for its database, when restarting it would
 * not help (the whole server's status, "", is for readiness).
 */
export const LIVENESS_SERVICE = 'liveness';

/**
 * The standard grpc.health.v1 service. Serving from the moment the server
 * listens; NOT_SERVING as soon as shutdown starts, so that load balancers
 * stop sending calls while in-flight ones drain.
 */
export class GrpcHealth {
  private readonly implementation: HealthImplementation;
  private servingNow = false;

  constructor(private readonly services: readonly string[]) {
    this.implementation = new HealthImplementation({
      ...Object.fromEntries(['', ...services].map((name) => [name, 'NOT_SERVING' satisfies ServingStatus])),
      [LIVENESS_SERVICE]: 'SERVING',
    });
  }

  addToServer(server: Server): void {
    this.implementation.addToServer(server);
  }

  /** What Check of the whole server ("") answers: for the HTTP /healthz of load balancers that cannot speak gRPC. */
  get serving(): boolean {
    return this.servingNow;
  }

  setServing(serving: boolean): void {
    this.servingNow = serving;
    const status: ServingStatus = serving ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', ...this.services]) this.implementation.setStatus(name, status);
  }
}
