import type { TlsConfig } from '../tls/tls-files.js';
import type { AuthMode, BalanceMode, GrpcMode, ListenAddress, LogLevel } from './settings.js';

/** The one validated configuration object of a Nova process. */
export interface NovaConfig {
  grpc: {
    /** As written, e.g. ":9090". */
    addr: string;
    listen: ListenAddress;
    mode: GrpcMode;
    /** A connection without calls for this long is closed (GOAWAY); clients reconnect on their next call. */
    idleTimeoutS: number;
    /**
     * Every connection is pinged after this long without a ping; one that
     * does not answer within 10 s (or the keepalive, if shorter), dead,
     * half-open or never past its HTTP/2 handshake, is dropped.
     */
    keepaliveS: number;
    /** Concurrent calls (HTTP/2 streams) one connection may have open. */
    maxStreams: number;
  };
  /** Unset: Nova runs its own embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  /** Hot statements go as named prepared statements (off for a proxy that loses them between calls). */
  databasePreparedStatements: boolean;
  /** Absolute. */
  dataDir: string;
  logLevel: LogLevel;
  /** Whether log lines written while serving a call carry its request id (resolved from auto). */
  logCallContext: boolean;
  auth: AuthMode;
  insecure: boolean;
  instances: {
    /** Seconds an idle function instance lives before it is stopped. */
    idleTtlS: number;
    /** Generic, pre-started processes kept ready per runtime profile. */
    warmPoolSize: number;
    /** Calls that may wait per function when all its instances are busy. */
    queueLimit: number;
    /** Asynchronous invocations this node runs at once; 0 runs none. */
    asyncConcurrency: number;
    /** Function instances this node runs at once, across all functions. */
    maxInstances: number;
    /** The sum of its instances' memory limits this node allows. */
    maxMemoryMb: number;
    /** CPU time one instance may use, in cores (a CFS quota). */
    cpus: number;
    /** Size of each instance's private /tmp (a tmpfs that goes away with it). */
    tmpMb: number;
    /** Processes and threads one instance may have at once. */
    pids: number;
  };
  cluster: {
    /** This process's id as a data-plane node. */
    nodeId: string;
    /** host:port routers dial to reach it. */
    advertiseAddr: string;
    heartbeatMs: number;
    /** Data-plane processes this daemon runs on its host; 1: this process is the data plane. */
    workers: number;
  };
  workflows: {
    /** Workflow runs this node has going at once; 0 runs none. */
    concurrency: number;
    /** A workflow's lease: renewed while its node lives, taken over by another node once it runs out. */
    leaseMs: number;
  };
  router: {
    /** affinity: Invoke by the function's rendezvous rank; round-robin: every call in turn (for comparison). */
    balance: BalanceMode;
  };
  tls: TlsConfig;
  metrics: {
    /** Unset: no /metrics. */
    listen: ListenAddress | undefined;
    /** Whether the address was chosen (a taken one is then an error, not a warning). */
    explicit: boolean;
  };
  /** OpenTelemetry, from its own environment variables; off without an endpoint. */
  tracing: { endpoint: string | undefined; serviceName: string };
  /** PATH of the environment Nova started in, where runtimes are looked for. */
  path: string;
  /** Where the YAML file came from, if one was read. */
  configFile: string | undefined;
}

export const NOVA_CONFIG = Symbol('NOVA_CONFIG');
