import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding the .proto sources, found from this module's location. */
function findProtoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'libs', 'proto', 'proto');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('libs/proto/proto not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export const protoRoot = findProtoRoot();

export const protoFiles = {
  controlPlane: 'nova/v1/control_plane.proto',
  dataPlane: 'nova/v1/data_plane.proto',
} as const;

export type ProtoFile = (typeof protoFiles)[keyof typeof protoFiles] | typeof healthProtoFile;

/** The standard health service's .proto, vendored unchanged from grpc-proto. */
export const healthProtoFile = 'grpc/health/v1/health.proto';

/** Fully qualified names of the services Nova serves. */
export const serviceNames = {
  controlPlane: 'nova.v1.ControlPlane',
  dataPlane: 'nova.v1.DataPlane',
  health: 'grpc.health.v1.Health',
} as const;
