import type { INestApplicationContext, Type } from '@nestjs/common';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ProtoFile } from '#proto';

/** A gRPC service served below Nest's handlers (the router's forwarding, which handles bytes, not messages). */
export interface RawGrpcService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

/**
 * One plane of Nova (control, data, router) as a server composes it: its
 * root Nest module and the gRPC services it serves.
 */
export interface PlaneDefinition {
  name: string;
  module: Type;
  protoFiles: ProtoFile[];
  /** Proto packages whose services Nest binds handlers for. */
  packages: string[];
  /** Fully qualified service names, for the health service. */
  services: string[];
  /** Whether it reads or writes the database; a server of planes that do not opens none (and migrates nothing). */
  usesDatabase: boolean;
  /** Whether a process serving it is a node of the cluster (registers, heartbeats; routers find it). */
  joinsCluster: boolean;
  /** Services it serves outside Nest's controllers, taken from its providers once the server is built. */
  rawServices?: (app: INestApplicationContext) => RawGrpcService[];
}
