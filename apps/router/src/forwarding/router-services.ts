import { Injectable } from '@nestjs/common';
import type * as grpc from '@grpc/grpc-js';
import { serviceDefinitionOf, serviceNames } from '#proto';
import type { RawGrpcService } from '#server';
import { Forwarder } from './forwarder.js';
import { forwardedServices, isIdempotent, type ForwardedService } from './routes.js';
import { RouterHealthReport, type RouterHealth } from './router-health.js';

const identity = (bytes: Buffer): Buffer => bytes;
/** How long a router's Health waits for a node's own report before answering with its view alone. */
const NODE_HEALTH_TIMEOUT_MS = 2000;

/**
 * The services router mode serves by forwarding: for each method of each
 * forwarded service, a handler whose messages stay bytes (the node decodes
 * them), built from the same .proto files the nodes serve.
 */
@Injectable()
export class RouterServices {
  constructor(
    private readonly forwarder: Forwarder,
    private readonly health: RouterHealthReport,
  ) {}

  build(services: readonly ForwardedService[] = forwardedServices): RawGrpcService[] {
    return services.map((forwarded) => {
      const methods = serviceDefinitionOf(forwarded.service);
      const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const [name, method] of Object.entries(methods)) {
        if (method.requestStream) throw new Error(`${method.path}: the router forwards no client streams`);
        definition[name] = {
          path: method.path,
          requestStream: false,
          responseStream: method.responseStream,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
          originalName: method.originalName,
        };
        if (forwarded.answered.has(name)) {
          implementation[name] = this.answered(forwarded.service, name, method);
          continue;
        }
        const route = {
          path: method.path,
          plane: forwarded.plane,
          affinity: forwarded.affinity.has(name),
          idempotent: isIdempotent(name),
        };
        implementation[name] = method.responseStream
          ? (call: grpc.ServerWritableStream<Buffer, Buffer>) => this.forwarder.serverStream(route, call)
          : (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
              this.forwarder.unary(route, call, callback);
      }
      return { definition, implementation };
    });
  }

  private answered(
    service: string,
    name: string,
    method: {
      path: string;
      responseSerialize: (value: object) => Buffer;
      responseDeserialize: (bytes: Buffer) => object;
    },
  ): grpc.handleUnaryCall<Buffer, Buffer> {
    if (service === serviceNames.dataPlane && name === 'Health') {
      const route = { path: method.path, plane: 'data-plane' as const, affinity: false, idempotent: true };
      // A node's own report (database, runtimes, instances) with this router's view of every node over it.
      return (call, callback) => {
        const own = this.health.report();
        this.forwarder.request(route, call.request, call.metadata, Date.now() + NODE_HEALTH_TIMEOUT_MS).then(
          (bytes) => {
            const node = method.responseDeserialize(bytes) as RouterHealth;
            callback(
              null,
              method.responseSerialize({ status: node.status, components: { ...node.components, ...own.components } }),
            );
          },
          () => callback(null, method.responseSerialize(own)),
        );
      };
    }
    throw new Error(`${service}/${name}: no answer of the router's own`);
  }
}
