import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import type { NovaConfig } from './nova-config.js';
import { readCheckedYaml } from './yaml-keys.js';
import { readTlsFiles } from '../tls/tls-files.js';
import {
  flagKeyOf,
  isLoopbackHost,
  settings,
  type ListenAddress,
  type SettingDefinition,
  type SettingKey,
  type SettingValues,
} from './settings.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** Commander-style parsed flags; keys as in settings[*].flag. */
  flags?: Record<string, unknown>;
  /** The environment; pass process.env. */
  env?: Record<string, string | undefined>;
  /** Path to the YAML file; when absent, env NOVA_CONFIG is used. */
  configFile?: string;
  cwd?: string;
}

function lookupPath(document: unknown, path: string): unknown {
  let node: unknown = document;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function readYaml(file: string, problems: string[]): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`config file ${file}: ${(error as Error).message}`);
    return undefined;
  }
  const checked = readCheckedYaml(
    text,
    Object.values(settings).map((setting) => setting.yaml),
  );
  problems.push(...checked.problems.map((problem) => `config file ${file}, ${problem}`));
  return checked.problems.length > 0 ? undefined : checked.value;
}

/**
 * Builds the configuration from defaults < YAML file < environment < flags and
 * throws a ConfigError naming every bad setting at once.
 */
export function loadConfig(sources: ConfigSources = {}): NovaConfig {
  const env = sources.env ?? {};
  const flags = sources.flags ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const problems: string[] = [];

  const configFileRaw = sources.configFile ?? env['NOVA_CONFIG'];
  const configFile = configFileRaw ? resolve(cwd, configFileRaw) : undefined;
  const document = configFile ? readYaml(configFile, problems) : undefined;

  const workerSettings = workerSettingsFrom(env, problems);
  const values: Partial<Record<SettingKey, unknown>> = {};
  const written: Partial<Record<SettingKey, string>> = {};
  for (const key of Object.keys(settings) as SettingKey[]) {
    const definition = settings[key];
    const candidates: { raw: unknown; source: string }[] = [];
    const fromFile = document === undefined ? undefined : lookupPath(document, definition.yaml);
    if (fromFile !== undefined && fromFile !== null)
      candidates.push({ raw: fromFile, source: `${definition.yaml} in ${configFile}` });
    const fromEnv = env[definition.env];
    if (fromEnv !== undefined && (fromEnv !== '' || (definition as SettingDefinition<unknown>).emptyIsValue))
      candidates.push({ raw: fromEnv, source: `${definition.env}` });
    const fromFlag = flags[flagKeyOf(definition.flagName)];
    if (fromFlag !== undefined) candidates.push({ raw: fromFlag, source: `${definition.flagName}` });
    const fromSupervisor = workerSettings?.[key];
    if (fromSupervisor !== undefined) candidates.push({ raw: fromSupervisor, source: WORKER_SETTINGS_ENV });

    const chosen = candidates.at(-1);
    if (!chosen) {
      values[key] = definition.default;
      continue;
    }
    try {
      values[key] = definition.parse(chosen.raw);
      written[key] = String(chosen.raw);
    } catch (error) {
      problems.push(`${chosen.source}=${JSON.stringify(chosen.raw)}: ${(error as Error).message}`);
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const v = values as SettingValues;
  const tls = readTlsFiles(v, cwd, problems);
  if (tls.server && !tls.nodes && v.mode === 'unified' && v.workers > 1) {
    problems.push(
      `--workers ${v.workers} with TLS: the workers serve TLS too, and the front process dials them; ` +
        'set NOVA_TLS_CA to the CA that signed NOVA_TLS_CERT (or run one worker)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  // TLS alone encrypts but lets anyone in; client certificates (mTLS) or
  // API keys decide who may call.
  if (v.auth === 'off' && !v.insecure && tls.server?.clientCa === undefined && !isLoopbackHost(v.grpcAddr.host)) {
    throw new ConfigError([
      `grpc address ${written.grpcAddr ?? ''} listens beyond this machine while auth is off, so anyone who can reach it ` +
        'could deploy and run code. Either enable auth (NOVA_AUTH=required, then create keys with `nova keys create`), ' +
        'require client certificates (NOVA_TLS_CERT, NOVA_TLS_KEY and NOVA_TLS_CLIENT_CA), ' +
        'or accept the risk explicitly with --insecure (NOVA_INSECURE=true).',
    ]);
  }

  return {
    grpc: {
      addr: written.grpcAddr ?? `${v.grpcAddr.host}:${v.grpcAddr.port}`,
      listen: v.grpcAddr,
      mode: v.mode,
      idleTimeoutS: v.grpcIdleTimeoutS,
      keepaliveS: v.grpcKeepaliveS,
      maxStreams: v.grpcMaxStreams,
    },
    databaseUrl: v.databaseUrl,
    databasePreparedStatements: v.databasePreparedStatements,
    dataDir: resolve(cwd, v.dataDir),
    logLevel: v.logLevel,
    logCallContext: v.logCallContext === 'auto' ? contextPropagationIsCheap() : v.logCallContext === 'on',
    auth: v.auth,
    insecure: v.insecure,
    instances: {
      idleTtlS: v.idleTtlS,
      warmPoolSize: v.warmPoolSize,
      queueLimit: v.queueLimit,
      asyncConcurrency: v.asyncConcurrency,
      maxInstances: v.maxInstances,
      maxMemoryMb: v.maxMemoryMb,
      cpus: v.instanceCpus,
      tmpMb: v.instanceTmpMb,
      pids: v.instancePids,
    },
    cluster: {
      nodeId: v.nodeId ?? `${hostname()}:${v.grpcAddr.port}`,
      advertiseAddr: v.advertiseAddr ?? advertisedListenAddress(v.grpcAddr),
      heartbeatMs: v.heartbeatMs,
      workers: v.workers,
    },
    workflows: { concurrency: v.workflowConcurrency, leaseMs: v.workflowLeaseMs },
    router: { balance: v.routerBalance },
    tls,
    metrics: { listen: v.metricsAddr, explicit: written.metricsAddr !== undefined },
    tracing: {
      endpoint: env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_ENDPOINT'] || undefined,
      serviceName: env['OTEL_SERVICE_NAME'] || `nova-${v.mode}`,
    },
    path: env['PATH'] || '/usr/local/bin:/usr/bin:/bin',
    configFile,
  };
}

/**
 * Whether this Node carries AsyncLocalStorage context without async hooks
 * (AsyncContextFrame: the default from Node 24, a flag on 22). On Node 20
 * the hooks tax every promise of the process: about a fifth of warm
 * throughput in docs/BENCHMARKS.md.
 */
function contextPropagationIsCheap(): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  if (process.execArgv.includes('--no-async-context-frame')) return false;
  return major >= 24 || process.execArgv.includes('--experimental-async-context-frame');
}

/**
 * Where others reach a node that did not say: its listen address, or, when
 * it listens on every interface, its first external IPv4 address (the pod IP
 * in Kubernetes), and loopback when it has none.
 */
function advertisedListenAddress(listen: ListenAddress): string {
  if (listen.host !== '0.0.0.0' && listen.host !== '::') {
    return `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  }
  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal);
  return `${external?.address ?? '127.0.0.1'}:${listen.port}`;
}

/**
 * A data-plane worker started by `--workers` runs the same command line as
 * its supervisor; what differs (its port, node id, share of the host's
 * budget) comes in this variable, above every other source.
 */
export const WORKER_SETTINGS_ENV = 'NOVA_WORKER_SETTINGS';

function workerSettingsFrom(
  env: Record<string, string | undefined>,
  problems: string[],
): Partial<Record<SettingKey, unknown>> | undefined {
  const raw = env[WORKER_SETTINGS_ENV];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Partial<Record<SettingKey, unknown>>;
  } catch {
    problems.push(`${WORKER_SETTINGS_ENV}: not JSON`);
    return undefined;
  }
}
