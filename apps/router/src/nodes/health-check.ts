import * as grpc from '@grpc/grpc-js';

const HEALTH_CHECK = '/grpc.health.v1.Health/Check';
/** HealthCheckResponse{status: SERVING}: field 1, varint 1. */
const SERVING = Buffer.from([0x08, 0x01]);
const identity = (bytes: Buffer): Buffer => bytes;

export type HealthAnswer = 'serving' | 'not_serving' | 'no_health_service' | 'down';

/** One grpc.health.v1 Check of a whole server (service ""), in bytes on an existing channel. */
export function checkHealth(client: grpc.Client, timeoutMs: number): Promise<HealthAnswer> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      HEALTH_CHECK,
      identity,
      identity,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (error, response) => {
        if (!error) return resolve(response && SERVING.equals(response) ? 'serving' : 'not_serving');
        resolve(error.code === grpc.status.UNIMPLEMENTED ? 'no_health_service' : 'down');
      },
    );
  });
}
