import { connect } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { checkHealth } from '../nodes/health-check.js';

/** Rise 2, fall 3, as seed 004's HAProxy checks its servers. */
export const RISE = 2;
export const FALL = 3;

export type BackendStatus = 'healthy' | 'unhealthy' | 'unknown';

/**
 * One check of an external endpoint: grpc.health.v1 Check when it serves
 * it, else a TCP connect (the seed's agents serve no health service).
 */
export async function probe(client: grpc.Client, address: string, timeoutMs: number): Promise<boolean> {
  const answer = await checkHealth(client, timeoutMs);
  if (answer !== 'no_health_service') return answer === 'serving';
  return tcpConnects(address, timeoutMs);
}

function tcpConnects(address: string, timeoutMs: number): Promise<boolean> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** The status after one more check: rise checks in a row to become healthy, fall to become unhealthy. */
export class BackendState {
  status: BackendStatus = 'unknown';
  private passes = 0;
  private failures = 0;

  record(passed: boolean): boolean {
    const before = this.status;
    if (passed) {
      this.failures = 0;
      this.passes += 1;
      if (this.passes >= RISE) this.status = 'healthy';
    } else {
      this.passes = 0;
      this.failures += 1;
      if (this.failures >= FALL || this.status === 'unknown') this.status = 'unhealthy';
    }
    return before !== this.status;
  }
}
