import {
  createClusterClient,
  createControlPlaneClient,
  createDataPlaneClient,
  type ClosableClient,
  type DataPlanePromiseClient,
  type PromiseClient,
} from '#proto/client';
import type { cluster, controlPlane, dataPlane } from '#proto';
import { translated } from './errors.js';
import { streamed } from './streamed.js';
import type { JsonValue } from './statehouse.js';
import { connectionOf, type ClientOptions } from './connection.js';

/*
 * The SDK's own shapes of functions and invocations. They carry the wire's
 * field names, so `--json` output and the docs' field lists agree, but they
 * are declared here: the compiler checks each answer against them, and a
 * field the server adds does not become part of the SDK by accident.
 */

export interface FunctionInfo {
  id: string;
  name: string;
  runtime: string;
  handler: string;
  /** The latest version; invocations without a version run it. */
  version: number;
  /** sha256 of the latest version's code. */
  codeHash: string;
  memoryMb: number;
  timeoutS: number;
  minReplicas: number;
  maxReplicas: number;
  mode: string;
  /** none or egress. */
  network: string;
  /** Calls one instance serves at once. */
  concurrency: number;
  envVars: Record<string, string>;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
}

export interface FunctionSettings {
  /** MiB; 128 unless set. */
  memoryMb?: number;
  /** Seconds; 30 unless set. */
  timeoutS?: number;
  /** Instances kept warm; 0 unless set. */
  minReplicas?: number;
  /** Most instances per node; 10 unless set. */
  maxReplicas?: number;
  /** none (the default: no network) or egress. */
  network?: string;
  /** Calls one instance serves at once, 1 to 100 (above 1 only for node); 1 unless set. */
  concurrency?: number;
  envVars?: Record<string, string>;
}

export interface FunctionSpec extends FunctionSettings {
  name: string;
  /** e.g. python or node; `runtimes()` lists them. */
  runtime: string;
  handler: string;
  /** A source file or a zip archive. */
  code: Uint8Array;
}

/**
 * What to change: every field given is set (0 or "" restoring its default,
 * an empty envVars clearing them); fields left out stay as they are.
 * A new handler makes a new version of the latest code.
 */
export interface FunctionChanges extends FunctionSettings {
  handler?: string;
}

export interface FunctionVersionInfo {
  version: number;
  codeHash: string;
  sizeBytes: number;
  handler: string;
  /** The aliases that point at this version. */
  aliases: string[];
  createdAt: string;
}

export interface CodeUpdate {
  version: number;
  codeHash: string;
  /** Identical code and handler make no version: the latest is returned. */
  unchanged: boolean;
}

export interface AliasInfo {
  function: string;
  name: string;
  version: number;
  /** A share of the alias's calls (canaryWeight percent) goes to canaryVersion; 0: none. */
  canaryVersion: number;
  canaryWeight: number;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export interface AliasSpec {
  version: number;
  canaryVersion?: number;
  canaryWeight?: number;
  description?: string;
}

export interface RuntimeInfo {
  id: string;
  name: string;
  version: string;
  imageName: string;
  entrypoint: string[];
}

/** A node of the cluster (nova.v1.Cluster). */
export interface NodeInfo {
  id: string;
  /** host:port where routers reach it. */
  address: string;
  /** "control-plane", "data-plane". */
  planes: string[];
  runtimes: string[];
  /** Function instances it may run at once. */
  capacity: number;
  /** "live", "draining" or "dead" (no heartbeat for three intervals). */
  status: string;
  version: string;
  heartbeatMs: number;
  /** RFC 3339. */
  startedAt: string;
  /** RFC 3339: its last heartbeat. */
  heartbeatAt: string;
  /** Calls running or waiting on it at its last heartbeat. */
  inFlight: number;
  warmInstances: number;
}

export interface NodeFilter {
  /** "data-plane" or "control-plane". */
  plane?: string;
  /** "live", "draining" or "dead". */
  status?: string;
}

/** An invocation's input: bytes are sent as they are, anything else as its JSON. */
export type Payload = Uint8Array | JsonValue;

export interface InvokeOptions {
  /** Run this version; the alias or version in `name:alias` does the same. The latest unless set. */
  version?: number;
  /** Seconds, at most the function's timeout (its timeout unless set). */
  timeoutS?: number;
  /** Return what the call printed in `log`. */
  includeLog?: boolean;
  /** Passed to the handler's context. */
  metadata?: Record<string, string>;
}

/**
 * A finished call. A handler that failed is not an exception of the SDK:
 * the call itself worked, and `error` says what the handler raised.
 */
export interface InvocationResult {
  requestId: string;
  /** The handler's return value, JSON-encoded (or its bytes). */
  output: Uint8Array;
  /** Empty when the handler succeeded. */
  error: string;
  durationMs: number;
  coldStart: boolean;
  version: number;
  log: string;
}

export interface InvokeAsyncOptions {
  version?: number;
  /** Attempts before the dead letter; 3 unless set. */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** The same key within 24 h returns the first invocation instead of queueing another. */
  idempotencyKey?: string;
}

export interface QueuedInvocation {
  invocationId: string;
  status: string;
}

export interface StreamOptions extends InvokeOptions {
  /** Aborting it cancels the call; the iteration then ends quietly. */
  signal?: AbortSignal;
}

/** One item the handler yielded, or (final) how the call ended. */
export interface StreamChunk {
  requestId: string;
  data: Uint8Array;
  final: boolean;
  error: string;
  log: string;
  version: number;
}

export interface InvocationAttempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  error: string;
}

/** An invocation as recorded: sync, stream or async, with its attempts. */
export interface Invocation {
  id: string;
  functionName: string;
  version: number;
  /** sync, stream or async. */
  kind: string;
  /** queued, running, retrying, succeeded, failed, dead_letter. */
  status: string;
  success: boolean;
  async: boolean;
  attempts: number;
  maxAttempts: number;
  attemptHistory: InvocationAttempt[];
  /** When a retrying async invocation runs again; empty otherwise. */
  nextAttemptAt: string;
  output: Uint8Array;
  error: string;
  log: string;
  durationMs: number;
  coldStart: boolean;
  createdAt: string;
  correlationId: string;
}

export interface InvocationPage {
  invocations: Invocation[];
  /** How many match, over every page. */
  total: number;
}

export interface InvocationFilter {
  function?: string;
  status?: string;
  /** 100 unless set, at most 1 000. */
  limit?: number;
  offset?: number;
}

export interface WaitOptions {
  /** Between two looks; 250 ms unless set. */
  intervalMs?: number;
  /** Called with the invocation each time it is looked at. */
  onProgress?: (invocation: Invocation) => void;
  signal?: AbortSignal;
}

export interface FollowLogsOptions {
  /** Only this function's invocations; every function's unless set. */
  function?: string;
  signal?: AbortSignal;
  /** Called once the server serves the stream (so a caller can say it is following). */
  onStarted?: () => void;
}

export interface FunctionMetrics {
  totalInvocations: number;
  successfulInvocations: number;
  failedInvocations: number;
  avgDurationMs: number;
  p50DurationMs: number;
  p95DurationMs: number;
  p99DurationMs: number;
}

/** Statuses after which an async invocation does not change any more. */
const FINISHED = new Set(['succeeded', 'dead_letter']);

function encodePayload(payload: Payload | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array();
  if (payload instanceof Uint8Array) return payload;
  return Buffer.from(JSON.stringify(payload));
}

function nodeOf(answer: { node?: NodeInfo | undefined }): NodeInfo {
  if (!answer.node) throw new Error('the server answered without the node');
  return answer.node;
}

/** The wire's settings fields: 0 and "" for those not given. */
function settingsOf(settings: FunctionSettings): Required<FunctionSettings> {
  return {
    memoryMb: settings.memoryMb ?? 0,
    timeoutS: settings.timeoutS ?? 0,
    minReplicas: settings.minReplicas ?? 0,
    maxReplicas: settings.maxReplicas ?? 0,
    network: settings.network ?? '',
    concurrency: settings.concurrency ?? 0,
    envVars: settings.envVars ?? {},
  };
}

/** An InvokeRequest, the same for a call that waits and a stream. */
function invokeRequest(name: string, payload: Payload | undefined, options: InvokeOptions): dataPlane.InvokeRequest {
  return {
    function: name,
    payload: encodePayload(payload),
    timeoutS: options.timeoutS ?? 0,
    metadata: options.metadata ?? {},
    version: options.version ?? 0,
    includeLog: options.includeLog === true,
  };
}

/** update_mask names the fields that are set, so 0 and "" can mean "the default" rather than "unchanged". */
function maskOf(changes: FunctionChanges): string[] {
  const fields: (keyof FunctionChanges)[] = [
    'memoryMb',
    'timeoutS',
    'minReplicas',
    'maxReplicas',
    'network',
    'envVars',
    'handler',
    'concurrency',
  ];
  return fields.filter((field) => changes[field] !== undefined);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Nova's functions and invocations for TypeScript: nova.v1.ControlPlane and
 * nova.v1.DataPlane with promises, the SDK's own types and its typed errors
 * (NotFoundError for an unknown function or invocation, AlreadyExistsError,
 * InvalidArgumentError naming the field, ConnectionError, AuthError).
 */
export class Nova {
  private readonly controlPlane: PromiseClient<controlPlane.ControlPlaneClient> & ClosableClient;
  private readonly dataPlane: DataPlanePromiseClient;
  private readonly cluster: PromiseClient<cluster.ClusterClient> & ClosableClient;

  constructor(options: ClientOptions) {
    const connection = connectionOf(options);
    this.controlPlane = createControlPlaneClient(connection);
    this.dataPlane = createDataPlaneClient(connection);
    this.cluster = createClusterClient(connection);
  }

  async createFunction(spec: FunctionSpec): Promise<FunctionInfo> {
    return translated(() =>
      this.controlPlane.createFunction({
        name: spec.name,
        runtime: spec.runtime,
        handler: spec.handler,
        code: spec.code,
        ...settingsOf(spec),
        mode: '',
      }),
    );
  }

  async getFunction(name: string): Promise<FunctionInfo> {
    return translated(() => this.controlPlane.getFunction({ name }));
  }

  /** Functions by name, a page at a time (100 unless limit says otherwise, at most 1 000). */
  async listFunctions(page: { limit?: number; offset?: number } = {}): Promise<{
    functions: FunctionInfo[];
    total: number;
  }> {
    return translated(() => this.controlPlane.listFunctions({ limit: page.limit ?? 0, offset: page.offset ?? 0 }));
  }

  async updateFunction(name: string, changes: FunctionChanges): Promise<FunctionInfo> {
    return translated(() =>
      this.controlPlane.updateFunction({
        name,
        ...settingsOf(changes),
        handler: changes.handler ?? '',
        updateMask: maskOf(changes),
      }),
    );
  }

  /** New code (and optionally handler) as a new version; the current handler unless one is given. */
  async updateFunctionCode(name: string, code: Uint8Array, options: { handler?: string } = {}): Promise<CodeUpdate> {
    const stored = await translated(() =>
      this.controlPlane.updateFunctionCode({ name, code, handler: options.handler ?? '' }),
    );
    return { version: stored.version, codeHash: stored.codeHash, unchanged: stored.unchanged };
  }

  async listFunctionVersions(name: string): Promise<FunctionVersionInfo[]> {
    return (await translated(() => this.controlPlane.listFunctionVersions({ name }))).versions;
  }

  /** Deletes the function, its versions and aliases. */
  async deleteFunction(name: string): Promise<void> {
    await translated(() => this.controlPlane.deleteFunction({ name }));
  }

  /** Points an alias at a version, creating it or moving it. */
  async setAlias(functionName: string, alias: string, spec: AliasSpec): Promise<AliasInfo> {
    return translated(() =>
      this.controlPlane.setAlias({
        function: functionName,
        name: alias,
        version: spec.version,
        canaryVersion: spec.canaryVersion ?? 0,
        canaryWeight: spec.canaryWeight ?? 0,
        description: spec.description ?? '',
      }),
    );
  }

  async listAliases(functionName: string): Promise<AliasInfo[]> {
    return (await translated(() => this.controlPlane.listAliases({ function: functionName }))).aliases;
  }

  async deleteAlias(functionName: string, alias: string): Promise<void> {
    await translated(() => this.controlPlane.deleteAlias({ function: functionName, name: alias }));
  }

  async runtimes(): Promise<RuntimeInfo[]> {
    return (await translated(() => this.controlPlane.listRuntimes({}))).runtimes;
  }

  /** Runs the function and waits for its result; `name` may be NAME, NAME:VERSION or NAME:ALIAS. */
  async invoke(name: string, payload?: Payload, options: InvokeOptions = {}): Promise<InvocationResult> {
    return translated(() => this.dataPlane.invoke(invokeRequest(name, payload, options)));
  }

  /** Queues the call durably; it runs with retries whatever happens to this client. */
  async invokeAsync(name: string, payload?: Payload, options: InvokeAsyncOptions = {}): Promise<QueuedInvocation> {
    return translated(() =>
      this.dataPlane.invokeAsync({
        function: name,
        payload: encodePayload(payload),
        maxAttempts: options.maxAttempts ?? 0,
        backoffBaseMs: options.backoffBaseMs ?? 0,
        backoffMaxMs: options.backoffMaxMs ?? 0,
        idempotencyKey: options.idempotencyKey ?? '',
        version: options.version ?? 0,
      }),
    );
  }

  /** The items a streaming handler yields, as they come, then one final chunk saying how it ended. */
  async *invokeStream(name: string, payload?: Payload, options: StreamOptions = {}): AsyncGenerator<StreamChunk> {
    const stream = this.dataPlane.invokeStream(invokeRequest(name, payload, options));
    yield* streamed(stream, options.signal);
  }

  async getInvocation(id: string): Promise<Invocation> {
    return translated(() => this.dataPlane.getInvocation({ id }));
  }

  /** Looks at an async invocation until it has succeeded or gone to the dead letter. */
  async waitForInvocation(id: string, options: WaitOptions = {}): Promise<Invocation> {
    for (;;) {
      const invocation = await this.getInvocation(id);
      options.onProgress?.(invocation);
      if (FINISHED.has(invocation.status) || options.signal?.aborted) return invocation;
      await sleep(options.intervalMs ?? 250, options.signal);
    }
  }

  /** Invocations, newest first. */
  async listInvocations(filter: InvocationFilter = {}): Promise<InvocationPage> {
    return translated(() =>
      this.dataPlane.listInvocations({
        function: filter.function ?? '',
        status: filter.status ?? '',
        limit: filter.limit ?? 0,
        offset: filter.offset ?? 0,
      }),
    );
  }

  /** Every invocation as it finishes, on every node, until the loop stops or the signal aborts. */
  async *followLogs(options: FollowLogsOptions = {}): AsyncGenerator<Invocation> {
    const stream = this.dataPlane.tailLogs({ function: options.function ?? '' });
    if (options.onStarted) {
      const onStarted = options.onStarted;
      void stream.started.then(onStarted, () => undefined);
    }
    yield* streamed(stream, options.signal);
  }

  /** One function's totals and duration percentiles over the last rangeSeconds (3 600 unless set). */
  async getMetrics(functionName: string, options: { rangeSeconds?: number } = {}): Promise<FunctionMetrics> {
    const metrics = await translated(() =>
      this.dataPlane.getMetrics({ function: functionName, rangeSeconds: options.rangeSeconds ?? 0 }),
    );
    return {
      totalInvocations: metrics.totalInvocations,
      successfulInvocations: metrics.successfulInvocations,
      failedInvocations: metrics.failedInvocations,
      avgDurationMs: metrics.avgDurationMs,
      p50DurationMs: metrics.p50DurationMs,
      p95DurationMs: metrics.p95DurationMs,
      p99DurationMs: metrics.p99DurationMs,
    };
  }

  /** The cluster's nodes by id, dead ones included unless the filter says otherwise. */
  async listNodes(filter: NodeFilter = {}): Promise<NodeInfo[]> {
    const answer = await translated(() =>
      this.cluster.listNodes({ plane: filter.plane ?? '', status: filter.status ?? '' }),
    );
    return answer.nodes;
  }

  async getNode(id: string): Promise<NodeInfo> {
    return nodeOf(await translated(() => this.cluster.getNode({ id })));
  }

  /** The node takes no new calls and finishes its work. */
  async drainNode(id: string): Promise<NodeInfo> {
    return nodeOf(await translated(() => this.cluster.drainNode({ id })));
  }

  /** Forgets a dead node; a node still heartbeating is refused. */
  async removeNode(id: string): Promise<void> {
    await translated(() => this.cluster.removeNode({ id }));
  }

  close(): void {
    this.controlPlane.close();
    this.dataPlane.close();
    this.cluster.close();
  }
}
