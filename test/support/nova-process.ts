import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { freeLoopbackPort } from '#storage';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const entries = {
  nova: 'dist/apps/nova/src/main.js',
  'control-plane': 'dist/apps/control-plane/src/main.js',
  'data-plane': 'dist/apps/data-plane/src/main.js',
  router: 'dist/apps/router/src/main.js',
} as const;

/** A free loopback port for a test's server. */
export const freePort = freeLoopbackPort;

/**
 * Where a test's Nova keeps its data: a fresh embedded PostgreSQL in a temp
 * directory, or, when DATABASE_URL is set, a fresh database on that server.
 */
export interface TestDatabase {
  env: Record<string, string>;
  dataDir: string;
  dispose(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'nova-test-'));
  const external = process.env['DATABASE_URL'];
  if (!external) {
    return {
      env: { NOVA_DATA_DIR: dataDir },
      dataDir,
      dispose: () => rm(dataDir, { recursive: true, force: true }),
    };
  }
  const name = `nova_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: external });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(external);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), NOVA_DATA_DIR: dataDir },
    dataDir,
    async dispose() {
      const client = new pg.Client({ connectionString: external });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The environment a child process gets: nothing of the test runner's own but PATH and HOME. */
export function baseEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    // One process per daemon whatever the machine's cores (the default is one worker per core
    // less one above two cores); tests that want workers say so.
    NOVA_WORKERS: '1',
    // Many daemons share a test machine: /metrics only where a test asks for it.
    NOVA_METRICS_ADDR: '',
    ...extra,
  };
}

export interface NovaProcess {
  address: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote so far. */
  output(): string;
  /** JSON log lines so far. */
  logLines(): Record<string, unknown>[];
  /** Resolves with the exit code after SIGTERM (or the given signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartOptions {
  entry?: keyof typeof entries;
  args?: string[];
  env: Record<string, string>;
  port?: number;
}

/**
 * A Nova that exits cleanly removes its sandbox root; one killed with
 * SIGKILL cannot, and the next Nova on the machine would. A test run must
 * leave nothing behind, so the root of a process that died is removed here.
 */
async function removeSandboxOf(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith('nova-sandbox-')) continue;
    const owner = await readFile(join(tmpdir(), name, '.owner'), 'utf8').catch(() => '');
    if (owner.trim() === String(pid)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** Starts a real Nova server process and waits until it listens. */
export async function startNova(options: StartOptions): Promise<NovaProcess> {
  const port = options.port ?? (await freePort());
  const entry = options.entry ?? 'nova';
  const args = [entries[entry], ...(entry === 'nova' ? ['daemon'] : []), ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: baseEnv({ NOVA_GRPC_ADDR: `127.0.0.1:${port}`, NOVA_LOG_LEVEL: 'info', ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => void removeSandboxOf(child.pid).then(() => resolveExit(code))),
  );

  await new Promise<void>((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`nova did not start within 60 s:\n${output}`)), 60_000);
    const onData = (): void => {
      if (output.includes('"msg":"nova listening"')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolveStart();
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`nova exited with code ${code} before listening:\n${output}`));
    });
  });

  return {
    address: `127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited,
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `nova` CLI as a real process. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  stdin?: string | Buffer,
  cwd: string = repoRoot,
): Promise<CliResult> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [join(repoRoot, entries.nova), ...args], {
      cwd,
      env: baseEnv(env),
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** A CLI command that keeps running (`nova logs -f`): its output so far, and a way to stop it. */
export interface RunningCli {
  readonly stdout: string;
  readonly stderr: string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export function spawnCli(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [entries.nova, ...args], {
    cwd: repoRoot,
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * A database reachable by URL, as a deployment with its own PostgreSQL has:
 * a fresh database on DATABASE_URL when set, otherwise an embedded server
 * this test process owns.
 */
export async function createUrlDatabase(): Promise<{ url: string; dispose(): Promise<void> }> {
  const database = await createTestDatabase();
  if (database.env['DATABASE_URL']) return { url: database.env['DATABASE_URL'], dispose: () => database.dispose() };
  const { EmbeddedPostgres } = await import('#storage');
  const server = await EmbeddedPostgres.start({ dataDir: database.dataDir, log: () => undefined });
  return {
    url: server.url,
    async dispose() {
      await server.stop();
      await database.dispose();
    },
  };
}
