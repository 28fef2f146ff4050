import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Observable } from 'rxjs';
import { protoLoaderOptions } from './loader-options.js';
import { healthProtoFile, protoFiles, protoRoot, serviceNames } from './proto-files.js';
import type { ControlPlaneClient } from './generated/nova/v1/control_plane.js';
import type { KeyAdminClient } from './generated/nova/v1/key_admin.js';
import type { ClusterClient } from './generated/nova/v1/cluster.js';
import type { AgentRegistryClient } from './generated/nova/v1/agent_registry.js';
import type { WatchWorkflowRequest, WorkflowEvent, WorkflowsClient } from './generated/nova/v1/workflows.js';
import type { RaftServiceClient, WorkflowManagementClient } from './generated/raftoral/raftoral.js';
import type {
  AgentServiceClient,
  TaskChunk,
  TaskRequest,
  TaskWorkerClient,
  ToolServiceClient,
} from './generated/agentplatform/agent_platform.js';
import type { ReplayEvent, ReplayRequest, StatehouseServiceClient } from './generated/statehouse/v1/statehouse.js';
import type {
  DataPlaneClient,
  InvocationLog,
  InvokeRequest,
  InvokeStreamChunk,
  TailLogsRequest,
} from './generated/nova/v1/data_plane.js';
import { apiLimits } from './limits.js';
// Registers protobufjs's wrapper for google.protobuf.Struct (plain objects in, plain objects out), which
// statehouse.v1's values use; the light entry loads no other generated module that would.
import './generated/google/protobuf/struct.js';

/**
 * The promise-returning shape of a ts-proto Nest client interface: the same
 * method names and message types, without rxjs.
 */
export type PromiseClient<T> = {
  [K in keyof T]: T[K] extends (request: infer Req, ...rest: never[]) => Observable<infer Res>
    ? (request: Req, options?: UnaryCallOptions) => Promise<Res>
    : never;
};

export interface UnaryCallOptions {
  metadata?: Record<string, string>;
  /** Milliseconds from now. */
  timeoutMs?: number;
}

export interface NovaClientOptions {
  /** host:port */
  address: string;
  /** API key, sent as `authorization: Bearer <key>`. */
  apiKey?: string;
  /** Set: the call goes over TLS. */
  tls?: ClientTls;
  channelOptions?: grpc.ChannelOptions;
}

/** PEM contents (not paths) for a TLS connection; none of them set: TLS verified against the system's CAs. */
export interface ClientTls {
  /** CA bundle the server's certificate must chain to. */
  ca?: Buffer | string;
  /** Client certificate and key, for a server that requires them (mTLS). */
  cert?: Buffer | string;
  key?: Buffer | string;
}

const pemBuffer = (pem: Buffer | string | undefined): Buffer | null =>
  pem === undefined ? null : Buffer.isBuffer(pem) ? pem : Buffer.from(pem);

/** Channel credentials for a connection: plaintext without `tls`. */
export function channelCredentials(tls: ClientTls | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new Error('a client certificate needs its key, and a key its certificate');
  }
  return grpc.credentials.createSsl(pemBuffer(tls.ca), pemBuffer(tls.key), pemBuffer(tls.cert));
}

export const MAX_MESSAGE_BYTES = apiLimits.messageBytes;

let packageDefinition: protoLoader.PackageDefinition | undefined;

function loadDefinition(): protoLoader.PackageDefinition {
  packageDefinition ??= protoLoader.loadSync([...Object.values(protoFiles), healthProtoFile], {
    ...protoLoaderOptions,
    includeDirs: [protoRoot],
  });
  return packageDefinition;
}

/**
 * A service's methods as proto-loader describes them: path, streaming
 * flags and the (de)serialisers of its messages, for code that handles
 * calls below the generated clients (the router, which forwards bytes).
 */
export function serviceDefinitionOf(serviceName: string): protoLoader.ServiceDefinition {
  const definition = loadDefinition()[serviceName];
  if (!definition || 'format' in definition) throw new Error(`unknown service ${serviceName}`);
  return definition;
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

export interface ClosableClient {
  close(): void;
}

/** A server stream as an async iterable; cancel() ends it from the client side. */
export interface ServerStream<T> extends AsyncIterable<T> {
  cancel(): void;
  /** Settles when the server has sent its headers: the call is being served. */
  readonly started: Promise<void>;
}

type StreamMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
) => grpc.ClientReadableStream<unknown>;

function callMetadata(options: NovaClientOptions, callOptions: UnaryCallOptions): [grpc.Metadata, grpc.CallOptions] {
  const metadata = new grpc.Metadata();
  if (options.apiKey) metadata.set('authorization', `Bearer ${options.apiKey}`);
  for (const [key, value] of Object.entries(callOptions.metadata ?? {})) metadata.set(key, value);
  const grpcOptions: grpc.CallOptions = {};
  if (callOptions.timeoutMs !== undefined) grpcOptions.deadline = Date.now() + callOptions.timeoutMs;
  return [metadata, grpcOptions];
}

function createPromiseClient<T>(serviceName: string, options: NovaClientOptions): PromiseClient<T> & ClosableClient {
  const definition = loadDefinition()[serviceName];
  if (!definition || 'format' in definition) throw new Error(`unknown service ${serviceName}`);
  const ServiceClient = grpc.makeGenericClientConstructor(definition, serviceName);
  const client = new ServiceClient(options.address, channelCredentials(options.tls), {
    // Outputs and code may be up to 10 MiB; grpc-js would refuse answers over 4 MiB.
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    ...options.channelOptions,
  });
  const wrapped: Record<string, unknown> = { close: () => client.close() };
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream) continue;
    const camelName = name.charAt(0).toLowerCase() + name.slice(1);
    if (method.responseStream) {
      const open = (client as unknown as Record<string, StreamMethod>)[name]!.bind(client);
      wrapped[camelName] = (request: unknown, callOptions: UnaryCallOptions = {}): ServerStream<unknown> => {
        const stream = open(request, ...callMetadata(options, callOptions));
        const started = new Promise<void>((resolve, reject) => {
          stream.once('metadata', () => resolve());
          stream.once('error', reject);
        });
        started.catch(() => undefined); // the iterator reports the error
        return {
          cancel: () => stream.cancel(),
          started,
          [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator]() as AsyncIterator<unknown>,
        };
      };
      continue;
    }
    const call = (client as unknown as Record<string, UnaryMethod>)[name]!.bind(client);
    wrapped[camelName] = (request: unknown, callOptions: UnaryCallOptions = {}) =>
      new Promise((resolve, reject) => {
        const [metadata, grpcOptions] = callMetadata(options, callOptions);
        call(request, metadata, grpcOptions, (error, response) => (error ? reject(error) : resolve(response)));
      });
  }
  return wrapped as PromiseClient<T> & ClosableClient;
}

export function createControlPlaneClient(
  options: NovaClientOptions,
): PromiseClient<ControlPlaneClient> & ClosableClient {
  return createPromiseClient<ControlPlaneClient>(serviceNames.controlPlane, options);
}

export function createClusterClient(options: NovaClientOptions): PromiseClient<ClusterClient> & ClosableClient {
  return createPromiseClient<ClusterClient>(serviceNames.cluster, options);
}

export type AgentServicePromiseClient = PromiseClient<Omit<AgentServiceClient, 'streamTask'>> &
  ClosableClient & {
    streamTask(request: TaskRequest, options?: UnaryCallOptions): ServerStream<TaskChunk>;
  };

export function createAgentServiceClient(options: NovaClientOptions): AgentServicePromiseClient {
  return createPromiseClient<AgentServiceClient>(
    serviceNames.agentService,
    options,
  ) as unknown as AgentServicePromiseClient;
}

export function createToolServiceClient(options: NovaClientOptions): PromiseClient<ToolServiceClient> & ClosableClient {
  return createPromiseClient<ToolServiceClient>(serviceNames.toolService, options);
}

export function createTaskWorkerClient(options: NovaClientOptions): PromiseClient<TaskWorkerClient> & ClosableClient {
  return createPromiseClient<TaskWorkerClient>(serviceNames.taskWorker, options);
}

export function createAgentRegistryClient(
  options: NovaClientOptions,
): PromiseClient<AgentRegistryClient> & ClosableClient {
  return createPromiseClient<AgentRegistryClient>(serviceNames.agentRegistry, options);
}

export function createKeyAdminClient(options: NovaClientOptions): PromiseClient<KeyAdminClient> & ClosableClient {
  return createPromiseClient<KeyAdminClient>(serviceNames.keyAdmin, options);
}

export type DataPlanePromiseClient = PromiseClient<Omit<DataPlaneClient, 'invokeStream' | 'tailLogs'>> &
  ClosableClient & {
    invokeStream(request: InvokeRequest, options?: UnaryCallOptions): ServerStream<InvokeStreamChunk>;
    tailLogs(request: TailLogsRequest, options?: UnaryCallOptions): ServerStream<InvocationLog>;
  };

export function createDataPlaneClient(options: NovaClientOptions): DataPlanePromiseClient {
  return createPromiseClient<DataPlaneClient>(serviceNames.dataPlane, options) as unknown as DataPlanePromiseClient;
}

export type StatehousePromiseClient = PromiseClient<Omit<StatehouseServiceClient, 'replay'>> &
  ClosableClient & {
    replay(request: ReplayRequest, options?: UnaryCallOptions): ServerStream<ReplayEvent>;
  };

export function createStatehouseClient(options: NovaClientOptions): StatehousePromiseClient {
  return createPromiseClient<StatehouseServiceClient>(
    serviceNames.statehouse,
    options,
  ) as unknown as StatehousePromiseClient;
}

export type WorkflowsPromiseClient = PromiseClient<Omit<WorkflowsClient, 'watchWorkflow'>> &
  ClosableClient & {
    watchWorkflow(request: WatchWorkflowRequest, options?: UnaryCallOptions): ServerStream<WorkflowEvent>;
  };

export function createWorkflowsClient(options: NovaClientOptions): WorkflowsPromiseClient {
  return createPromiseClient<WorkflowsClient>(serviceNames.workflows, options) as unknown as WorkflowsPromiseClient;
}

export function createWorkflowManagementClient(
  options: NovaClientOptions,
): PromiseClient<WorkflowManagementClient> & ClosableClient {
  return createPromiseClient<WorkflowManagementClient>(serviceNames.workflowManagement, options);
}

export function createRaftServiceClient(options: NovaClientOptions): PromiseClient<RaftServiceClient> & ClosableClient {
  return createPromiseClient<RaftServiceClient>(serviceNames.raftService, options);
}

/** grpc.health.v1's Check; status 1 is SERVING, 2 NOT_SERVING, 0 UNKNOWN. */
export interface HealthPromiseClient extends ClosableClient {
  check(request: { service: string }, options?: UnaryCallOptions): Promise<{ status: number }>;
}

export function createHealthClient(options: NovaClientOptions): HealthPromiseClient {
  return createPromiseClient<unknown>(serviceNames.health, options) as unknown as HealthPromiseClient;
}
