/**
 * The table of Nova's settings. Each one can come from the YAML file, the
 * environment or a flag; later sources win (defaults < file < environment <
 * flags). Parsers return a value or throw an Error whose message says what is
 * wrong; loadConfig collects every such message before it gives up.
 */

import { availableParallelism, totalmem } from 'node:os';

export const grpcModes = ['unified', 'controlplane', 'dataplane', 'router'] as const;
export type GrpcMode = (typeof grpcModes)[number];

export const logLevels = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof logLevels)[number];

export const callContextModes = ['auto', 'on', 'off'] as const;
export type CallContextMode = (typeof callContextModes)[number];

export const authModes = ['off', 'required'] as const;
export const balanceModes = ['affinity', 'round-robin'] as const;
export type BalanceMode = (typeof balanceModes)[number];
export type AuthMode = (typeof authModes)[number];

export interface ListenAddress {
  host: string;
  port: number;
}

export interface SettingDefinition<T> {
  /** Dotted path in the YAML file. */
  yaml: string;
  env: string;
  /** The flag of `nova daemon` (and of the other server commands for the database settings). */
  flagName: `--${string}`;
  /** What it means: the README's settings table and `--help` both show this. */
  help: string;
  /** The flag's value placeholder; a flag without one is a switch. */
  arg?: `<${string}>`;
  /** How the default is shown when its value says little (computed, or unset). */
  shownDefault?: string;
  default: T;
  /** An empty value from the environment is a value (it turns the setting off), not "unset". */
  emptyIsValue?: true;
  parse(raw: unknown): T;
}

function oneOf<T extends string>(values: readonly T[]): (raw: unknown) => T {
  return (raw) => {
    const text = String(raw).trim().toLowerCase();
    if ((values as readonly string[]).includes(text)) return text as T;
    throw new Error(`must be one of ${values.join(', ')}`);
  };
}

function boolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const text = String(raw).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(text)) return false;
  throw new Error('must be true or false');
}

function numberIn(min: number, max: number, integer: boolean): (raw: unknown) => number {
  return (raw) => {
    const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (
      String(raw).trim() === '' ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    ) {
      throw new Error(`must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
    }
    return value;
  };
}

function nonEmptyString(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new Error('must be a non-empty string');
  return raw.trim();
}

function optionalString(raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') throw new Error('must be a string');
  return raw.trim() === '' ? undefined : raw.trim();
}

function optionalNodeId(raw: unknown): string | undefined {
  const text = optionalString(raw);
  if (text !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(text)) {
    throw new Error('must be 1 to 128 letters, digits, dots, colons, dashes or underscores');
  }
  return text;
}

/** An address others dial: a host (name, IPv4 or [IPv6]) and a port other than 0. */
function optionalHostPort(raw: unknown): string | undefined {
  const text = optionalString(raw);
  if (text === undefined) return undefined;
  const match = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 65535) {
    throw new Error('must be host:port or [ipv6]:port, with a port from 1 to 65535');
  }
  return text;
}

/**
 * host:port, [v6]:port, or :port (every interface, as in Go's net.Listen).
 */
export function parseListenAddress(raw: unknown): ListenAddress {
  const text = nonEmptyString(raw);
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (!match) throw new Error('must be host:port, [ipv6]:port or :port');
  const port = Number(match[3]);
  if (port > 65535) throw new Error('port must be 0 to 65535');
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function isLoopbackHost(host: string): boolean {
  const lower = host.toLowerCase();
  return lower === 'localhost' || lower === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(lower);
}

/** A listen address, or empty for "off". */
function optionalListenAddress(raw: unknown): ListenAddress | undefined {
  if (typeof raw === 'string' && raw.trim() === '') return undefined;
  return parseListenAddress(raw);
}

function databaseUrl(raw: unknown): string | undefined {
  const text = optionalString(raw);
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('must be a URL such as postgres://user:password@host:5432/db');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error('must start with postgres:// or postgresql://');
  }
  return text;
}

export const settings = {
  grpcEnabled: {
    yaml: 'grpc.enabled',
    env: 'NOVA_GRPC_ENABLED',
    flagName: '--grpc-enabled',
    help: "gRPC on (always; for the seed's configs)",
    default: true,
    parse: (raw: unknown) => {
      if (!boolean(raw)) throw new Error('gRPC is the only API Nova serves and cannot be disabled');
      return true;
    },
  },
  grpcAddr: {
    yaml: 'grpc.addr',
    env: 'NOVA_GRPC_ADDR',
    flagName: '--grpc-addr',
    help: 'Listen address (`host:port`, `[v6]:port`, `:port` = all interfaces)',
    arg: '<addr>',
    shownDefault: '127.0.0.1:9090',
    default: { host: '127.0.0.1', port: 9090 },
    parse: parseListenAddress,
  },
  mode: {
    yaml: 'grpc.mode',
    env: 'NOVA_GRPC_MODE',
    flagName: '--mode',
    help: 'Planes to serve: `unified`, `controlplane`, `dataplane`, `router`',
    arg: '<mode>',
    default: 'unified',
    parse: oneOf(grpcModes),
  },
  grpcIdleTimeoutS: {
    yaml: 'grpc.idle_timeout_s',
    env: 'NOVA_GRPC_IDLE_TIMEOUT_S',
    flagName: '--grpc-idle-timeout',
    help: 'Close a connection idle this long (s; clients reconnect)',
    arg: '<s>',
    default: 300,
    parse: numberIn(1, 86_400, true),
  },
  grpcKeepaliveS: {
    yaml: 'grpc.keepalive_s',
    env: 'NOVA_GRPC_KEEPALIVE_S',
    flagName: '--grpc-keepalive',
    help: 'Ping connections this often (s); no answer in 10 s drops them',
    arg: '<s>',
    default: 30,
    parse: numberIn(1, 7200, true),
  },
  grpcMaxStreams: {
    yaml: 'grpc.max_streams',
    env: 'NOVA_GRPC_MAX_STREAMS',
    flagName: '--grpc-max-streams',
    help: 'Concurrent calls (HTTP/2 streams) per connection',
    arg: '<n>',
    default: 1000,
    parse: numberIn(1, 100_000, true),
  },
  databaseUrl: {
    yaml: 'database_url',
    env: 'DATABASE_URL',
    flagName: '--database-url',
    help: 'PostgreSQL URL; unset = embedded server',
    arg: '<url>',
    shownDefault: 'unset',
    default: undefined,
    parse: databaseUrl,
  },
  databasePreparedStatements: {
    yaml: 'database_prepared_statements',
    env: 'NOVA_DB_PREPARED_STATEMENTS',
    flagName: '--db-prepared-statements',
    help: 'Prepare hot statements once per connection; `false` for a proxy that loses prepared statements',
    arg: '<true|false>',
    default: true,
    parse: boolean,
  },
  dataDir: {
    yaml: 'data_dir',
    env: 'NOVA_DATA_DIR',
    flagName: '--data-dir',
    help: 'Data directory of the embedded PostgreSQL',
    arg: '<dir>',
    default: '.nova',
    parse: nonEmptyString,
  },
  logLevel: {
    yaml: 'log_level',
    env: 'NOVA_LOG_LEVEL',
    flagName: '--log-level',
    help: 'Log level: `debug`, `info`, `warn`, `error`',
    arg: '<level>',
    default: 'info',
    parse: oneOf(logLevels),
  },
  logCallContext: {
    yaml: 'log_call_context',
    env: 'NOVA_LOG_CALL_CONTEXT',
    flagName: '--log-call-context',
    help: 'Request id on every log line of a call: `auto` (where Node carries context cheaply, Node 24+), `on`, `off`',
    arg: '<mode>',
    default: 'auto',
    parse: oneOf(callContextModes),
  },
  auth: {
    yaml: 'auth',
    env: 'NOVA_AUTH',
    flagName: '--auth',
    help: 'Auth: `off` or `required`',
    arg: '<mode>',
    default: 'off',
    parse: oneOf(authModes),
  },
  insecure: {
    yaml: 'insecure',
    env: 'NOVA_INSECURE',
    flagName: '--insecure',
    help: 'Allow non-loopback with auth off',
    default: false,
    parse: boolean,
  },
  tlsCert: {
    yaml: 'tls.cert',
    env: 'NOVA_TLS_CERT',
    flagName: '--tls-cert',
    help: "PEM certificate (chain) served on the gRPC port, with `tls.key`; also this process's client certificate when it dials nodes",
    arg: '<file>',
    shownDefault: 'unset (plaintext)',
    default: undefined,
    parse: optionalString,
  },
  tlsKey: {
    yaml: 'tls.key',
    env: 'NOVA_TLS_KEY',
    flagName: '--tls-key',
    help: 'PEM private key of `tls.cert`',
    arg: '<file>',
    shownDefault: 'unset',
    default: undefined,
    parse: optionalString,
  },
  tlsClientCa: {
    yaml: 'tls.client_ca',
    env: 'NOVA_TLS_CLIENT_CA',
    flagName: '--tls-client-ca',
    help: 'PEM CA bundle: every client must present a certificate it signed (mTLS)',
    arg: '<file>',
    shownDefault: 'unset (no client certificates)',
    default: undefined,
    parse: optionalString,
  },
  tlsCa: {
    yaml: 'tls.ca',
    env: 'NOVA_TLS_CA',
    flagName: '--tls-ca',
    help: 'PEM CA bundle of the data-plane nodes a router dials; set, it dials them over TLS',
    arg: '<file>',
    shownDefault: 'unset (plaintext to nodes)',
    default: undefined,
    parse: optionalString,
  },
  metricsAddr: {
    yaml: 'metrics.addr',
    env: 'NOVA_METRICS_ADDR',
    flagName: '--metrics-addr',
    help: 'Where `/metrics` (Prometheus text) is served; empty turns it off',
    arg: '<addr>',
    shownDefault: '127.0.0.1:9464',
    default: { host: '127.0.0.1', port: 9464 },
    emptyIsValue: true,
    parse: optionalListenAddress,
  },
  idleTtlS: {
    yaml: 'instances.idle_ttl_s',
    env: 'NOVA_IDLE_TTL_S',
    flagName: '--idle-ttl',
    help: 'Seconds an idle function instance lives',
    arg: '<s>',
    default: 60,
    parse: numberIn(0.1, 86_400, false),
  },
  warmPoolSize: {
    yaml: 'instances.warm_pool_size',
    env: 'NOVA_WARM_POOL_SIZE',
    flagName: '--warm-pool-size',
    help: 'Generic processes kept started per runtime',
    arg: '<n>',
    default: 2,
    parse: numberIn(0, 64, true),
  },
  asyncConcurrency: {
    yaml: 'instances.async_concurrency',
    env: 'NOVA_ASYNC_CONCURRENCY',
    flagName: '--async-concurrency',
    help: 'Async invocations run at once per node (0: this node runs none)',
    arg: '<n>',
    default: 8,
    parse: numberIn(0, 1000, true),
  },
  workflowConcurrency: {
    yaml: 'workflows.concurrency',
    env: 'NOVA_WORKFLOW_CONCURRENCY',
    flagName: '--workflow-concurrency',
    help: 'Workflow runs at once per node (0: this node runs none); a sleeping workflow takes no slot',
    arg: '<n>',
    default: 16,
    parse: numberIn(0, 1000, true),
  },
  workflowLeaseMs: {
    yaml: 'workflows.lease_ms',
    env: 'NOVA_WORKFLOW_LEASE_MS',
    flagName: '--workflow-lease-ms',
    help: "How long a workflow stays its node's without a renewal (ms); another node takes it over after",
    arg: '<ms>',
    default: 5000,
    parse: numberIn(500, 600_000, true),
  },
  queueLimit: {
    yaml: 'instances.queue_limit',
    env: 'NOVA_QUEUE_LIMIT',
    flagName: '--queue-limit',
    help: 'Calls that may wait per function when all its instances are busy',
    arg: '<n>',
    default: 100,
    parse: numberIn(0, 100_000, true),
  },
  maxInstances: {
    yaml: 'instances.max_instances',
    env: 'NOVA_MAX_INSTANCES',
    flagName: '--max-instances',
    help: 'Function instances on this node at once, across functions',
    arg: '<n>',
    default: 200,
    parse: numberIn(1, 100_000, true),
  },
  maxMemoryMb: {
    yaml: 'instances.max_memory_mb',
    env: 'NOVA_MAX_MEMORY_MB',
    flagName: '--max-memory-mb',
    help: "Sum of the instances' memory limits on this node (MiB)",
    arg: '<mb>',
    shownDefault: '3/4 of RAM',
    // Three quarters of the machine: the rest is Nova's, PostgreSQL's and the kernel's.
    default: Math.floor((totalmem() / (1024 * 1024)) * 0.75),
    parse: numberIn(128, 16 * 1024 * 1024, true),
  },
  instanceCpus: {
    yaml: 'instances.cpus',
    env: 'NOVA_INSTANCE_CPUS',
    flagName: '--instance-cpus',
    help: 'CPU cores one instance may use (a cgroup quota)',
    arg: '<n>',
    default: 1,
    parse: numberIn(0.01, 1024, false),
  },
  instanceTmpMb: {
    yaml: 'instances.tmp_mb',
    env: 'NOVA_INSTANCE_TMP_MB',
    flagName: '--instance-tmp-mb',
    help: "Size of each instance's private `/tmp` (MiB)",
    arg: '<mb>',
    default: 512,
    parse: numberIn(1, 10_240, true),
  },
  instancePids: {
    yaml: 'instances.pids',
    env: 'NOVA_INSTANCE_PIDS',
    flagName: '--instance-pids',
    help: 'Processes and threads per instance',
    arg: '<n>',
    default: 128,
    parse: numberIn(8, 65_536, true),
  },
  nodeId: {
    yaml: 'cluster.node_id',
    env: 'NOVA_NODE_ID',
    flagName: '--node-id',
    help: "This data-plane node's id in the cluster (the same id again after a restart)",
    arg: '<id>',
    shownDefault: '`hostname:port`',
    default: undefined,
    parse: optionalNodeId,
  },
  advertiseAddr: {
    yaml: 'cluster.advertise_addr',
    env: 'NOVA_ADVERTISE_ADDR',
    flagName: '--advertise-addr',
    help: 'Address routers reach this node at (`host:port`)',
    arg: '<addr>',
    shownDefault: 'the listen address (an interface address when it listens on all)',
    default: undefined,
    parse: optionalHostPort,
  },
  heartbeatMs: {
    yaml: 'cluster.heartbeat_ms',
    env: 'NOVA_HEARTBEAT_MS',
    flagName: '--heartbeat-ms',
    help: 'How often a node heartbeats (ms); three missed make it dead',
    arg: '<ms>',
    default: 1000,
    parse: numberIn(100, 60_000, true),
  },
  workers: {
    yaml: 'cluster.workers',
    env: 'NOVA_WORKERS',
    flagName: '--workers',
    help: 'Data-plane processes on this host (`dataplane` and `unified` modes), each a node on the next port',
    arg: '<n>',
    shownDefault: '1 on 2 cores or fewer, else cores − 1',
    // One event loop is a data plane's ceiling; leave a core to the router (or the front process).
    default: availableParallelism() <= 2 ? 1 : availableParallelism() - 1,
    parse: numberIn(1, 256, true),
  },
  routerBalance: {
    yaml: 'router.balance',
    env: 'NOVA_ROUTER_BALANCE',
    flagName: '--router-balance',
    help: "How a router spreads Invoke calls: `affinity` (a function's node by rendezvous rank) or `round-robin`",
    arg: '<mode>',
    default: 'affinity',
    parse: oneOf(balanceModes),
  },
} satisfies Record<string, SettingDefinition<unknown>>;

type Settings = typeof settings;
export type SettingKey = keyof Settings;
export type SettingValues = { [K in SettingKey]: ReturnType<Settings[K]['parse']> };

/** The key Commander gives a flag's value: --grpc-idle-timeout → grpcIdleTimeout. */
export function flagKeyOf(flagName: string): string {
  return flagName.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** A setting's default as the docs and --help show it. */
export function shownDefaultOf(definition: SettingDefinition<unknown>): string {
  if (definition.shownDefault !== undefined) return definition.shownDefault;
  return typeof definition.default === 'object' && definition.default !== null
    ? JSON.stringify(definition.default)
    : String(definition.default);
}

/** The README's settings table, rendered from this table (a spec checks that the README holds exactly it). */
export function renderSettingsTable(): string {
  const rows = Object.values(settings).map((definition: SettingDefinition<unknown>) => {
    const shown = shownDefaultOf(definition);
    return [
      definition.help,
      `\`${definition.yaml}\``,
      `\`${definition.env}\``,
      `\`${definition.flagName}\``,
      definition.shownDefault === undefined ? `\`${shown}\`` : shown,
    ];
  });
  const header = ['Setting', 'YAML', 'Environment', 'Flag', 'Default'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
