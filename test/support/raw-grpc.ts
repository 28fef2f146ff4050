import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoRoot } from '#proto';

export interface RawResult {
  error: grpc.ServiceError | null;
  headers: grpc.Metadata | undefined;
  response: Buffer | undefined;
}

/** A unary call by path with raw bytes, for what typed clients hide: headers, UNIMPLEMENTED. */
export function rawUnary(
  address: string,
  path: string,
  body: Buffer,
  metadata = new grpc.Metadata(),
): Promise<RawResult> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest(
      path,
      (value: Buffer) => value,
      (value: Buffer) => value,
      body,
      metadata,
      {},
      (error, response) => {
        client.close();
        resolve({ error, headers, response });
      },
    );
    call.on('metadata', (received) => (headers = received));
  });
}

const require = createRequire(import.meta.url);

interface HealthCheckClient extends grpc.Client {
  Check(
    request: { service: string },
    callback: (error: grpc.ServiceError | null, response?: { status: string }) => void,
  ): grpc.ClientUnaryCall;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

export function healthClient(address: string): HealthCheckClient {
  const definition = protoLoader.loadSync('grpc/health/v1/health.proto', { includeDirs: [protoRoot], enums: String });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: {
      health: { v1: { Health: new (address: string, credentials: grpc.ChannelCredentials) => HealthCheckClient } };
    };
  };
  return new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

export function checkHealth(address: string, service = ''): Promise<{ code: number; status?: string }> {
  const client = healthClient(address);
  return new Promise((resolve) => {
    client.Check({ service }, (error, response) => {
      client.close();
      resolve(error ? { code: error.code } : { code: 0, ...(response ? { status: response.status } : {}) });
    });
  });
}

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

/** One request on the standard reflection service (grpc.reflection.v1). */
export function reflect(address: string, request: Record<string, string>): Promise<ReflectionResponse> {
  const protoPath = join(
    dirname(require.resolve('@grpc/reflection')),
    '..',
    'proto',
    'grpc',
    'reflection',
    'v1',
    'reflection.proto',
  );
  const definition = protoLoader.loadSync(protoPath, { keepCase: false, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => grpc.Client } } };
  };
  const client = new loaded.grpc.reflection.v1.ServerReflection(
    address,
    grpc.credentials.createInsecure(),
  ) as grpc.Client & {
    ServerReflectionInfo(): grpc.ClientDuplexStream<Record<string, string>, ReflectionResponse>;
  };
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.once('data', (response: ReflectionResponse) => {
      call.end();
      client.close();
      resolve(response);
    });
    call.once('error', reject);
    call.write(request);
  });
}
