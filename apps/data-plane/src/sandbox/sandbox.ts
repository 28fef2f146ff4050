import { createHash } from 'node:crypto';
import { chmod, chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FunctionRecord } from '#storage';
import { isZip, unzipCode } from './unzip.js';

/** The OS identity a function's processes run as. */
export interface FunctionIdentity {
  uid: number;
  gid: number;
}

/** A version's code on disk, as the bootstraps load it. */
export interface PreparedCode {
  codeDir: string;
  /** The module a handler without a dot lives in. */
  module: string;
  /** Module name to file (relative to codeDir), where the runtime needs to know. */
  moduleFiles: Record<string, string>;
}

// Function uids come from a range no distribution assigns to people or services.
const FUNCTION_UID_BASE = 600_000;
const FUNCTION_UID_SPAN = 1_000_000;

/**
 * Where function code and instance directories live, and who owns them.
 * As root, each function gets a uid and gid of its own: its code directory
 * is readable by that group only, its instances' working directories by that
 * user only, and Nova's data directory (0711) cannot be listed. Without root,
 * everything runs as Nova's own user and only the environment is isolated.
 */
export class Sandbox {
  readonly codeRoot: string;
  readonly instancesRoot: string;
  private readonly root: string;
  readonly isolatesUsers = process.getuid?.() === 0;
  private readonly prepared = new Map<string, Promise<PreparedCode>>();

  /**
   * Both live under the system temp directory rather than the data
   * directory: function users must be able to reach them, and the data
   * directory may sit below a directory they cannot pass (/root is 0700).
   */
  constructor(private readonly dataDir: string) {
    this.root = sandboxRootFor(dataDir);
    this.codeRoot = join(this.root, 'code');
    this.instancesRoot = join(this.root, 'instances');
  }

  /** Starts from empty directories: both are caches of what the database holds. */
  async init(): Promise<void> {
    for (const stale of await staleSandboxes(this.dataDir)) await rm(stale, { recursive: true, force: true });
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    await chmod(this.root, 0o711);
    for (const dir of [this.codeRoot, this.instancesRoot]) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { mode: 0o711 });
      await chmod(dir, 0o711);
    }
  }

  identityOf(record: Pick<FunctionRecord, 'id'>): FunctionIdentity | undefined {
    if (!this.isolatesUsers) return undefined;
    const id =
      FUNCTION_UID_BASE + (createHash('sha256').update(record.id).digest().readUInt32BE(0) % FUNCTION_UID_SPAN);
    return { uid: id, gid: id };
  }

  /** Writes a version's code once, read-only to the function. */
  prepareCode(record: FunctionRecord, code: Buffer): Promise<PreparedCode> {
    const key = `${record.id}:${record.version}`;
    let pending = this.prepared.get(key);
    if (!pending) {
      pending = this.writeCode(record, code);
      pending.catch(() => this.prepared.delete(key));
      this.prepared.set(key, pending);
    }
    return pending;
  }

  /** Removes this process's sandbox, once its instances have stopped. */
  async dispose(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }

  /** A fresh private working directory (also HOME and TMPDIR) for one instance. */
  async createWorkDir(instanceId: string, identity: FunctionIdentity | undefined): Promise<string> {
    const dir = join(this.instancesRoot, instanceId);
    await mkdir(dir, { mode: 0o700 });
    if (identity) await chown(dir, identity.uid, identity.gid);
    return dir;
  }

  async removeWorkDir(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  async removeFunction(functionId: string): Promise<void> {
    for (const key of this.prepared.keys()) if (key.startsWith(`${functionId}:`)) this.prepared.delete(key);
    await rm(join(this.codeRoot, functionId), { recursive: true, force: true });
  }

  /** Only what the function needs; never Nova's own environment. */
  environment(record: FunctionRecord, workDir: string): Record<string, string> {
    return {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      LANG: 'C.UTF-8',
      HOME: workDir,
      TMPDIR: workDir,
      FUNCTION_NAME: record.name,
      FUNCTION_VERSION: String(record.version),
      FUNCTION_MEMORY_MB: String(record.memoryMb),
      ...record.envVars,
    };
  }

  private async writeCode(record: FunctionRecord, code: Buffer): Promise<PreparedCode> {
    const identity = this.identityOf(record);
    const functionDir = join(this.codeRoot, record.id);
    const codeDir = join(functionDir, `v${record.version}`);
    await rm(codeDir, { recursive: true, force: true });
    await mkdir(codeDir, { recursive: true });
    const files = codeFiles(record, code);
    for (const [path, content] of files.files) {
      const target = join(codeDir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    await this.lockDown(functionDir, identity);
    return { codeDir, module: files.module, moduleFiles: files.moduleFiles };
  }

  /** Owner root, group the function's: it may read, nobody may write. */
  private async lockDown(path: string, identity: FunctionIdentity | undefined): Promise<void> {
    const entries = await readdir(path, { withFileTypes: true });
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) await this.lockDown(child, identity);
      else {
        if (identity) await chown(child, 0, identity.gid);
        await chmod(child, identity ? 0o440 : 0o400);
      }
    }
    if (identity) await chown(path, 0, identity.gid);
    await chmod(path, identity ? 0o550 : 0o500);
  }
}

/** Where a data directory's sandbox lives: one per data directory, so two Novas never share it. */
/**
 * Where one data-plane process keeps its sandbox: per data directory and
 * process, so that processes sharing a data directory never touch each
 * other's instances.
 */
export function sandboxRootFor(dataDir: string, pid = process.pid): string {
  return join(tmpdir(), `${sandboxPrefix(dataDir)}${pid}`);
}

function sandboxPrefix(dataDir: string): string {
  return `nova-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}-`;
}

/** Sandboxes left by processes of this data directory that are gone (killed, crashed). */
async function staleSandboxes(dataDir: string): Promise<string[]> {
  const prefix = sandboxPrefix(dataDir);
  const stale: string[] = [];
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as { code?: string }).code === 'ESRCH') stale.push(join(tmpdir(), name));
    }
  }
  return stale;
}

interface CodeFiles {
  files: Map<string, Uint8Array>;
  module: string;
  moduleFiles: Record<string, string>;
}

/** How each runtime lays a version's code out on disk. */
function codeFiles(record: FunctionRecord, code: Buffer): CodeFiles {
  const dot = record.handler.lastIndexOf('.');
  const module = dot >= 0 ? record.handler.slice(0, dot) : 'function';
  switch (record.runtime) {
    case 'wasm':
      return { files: new Map([['module.wasm', code]]), module: 'module', moduleFiles: { module: 'module.wasm' } };
    case 'python': {
      if (isZip(code)) return { files: unzipCode(code), module, moduleFiles: {} };
      return { files: new Map([[`${module.replaceAll('.', '/')}.py`, code]]), module, moduleFiles: {} };
    }
    case 'node': {
      if (isZip(code)) {
        const files = unzipCode(code);
        const base = module.replaceAll('.', '/');
        const file = [`${base}.mjs`, `${base}.cjs`, `${base}.js`, `${base}/index.js`].find((name) => files.has(name));
        return { files, module, moduleFiles: file ? { [module]: file } : {} };
      }
      const file = `${module}.${looksLikeEsm(code.toString('utf8')) ? 'mjs' : 'cjs'}`;
      return { files: new Map([[file, code]]), module, moduleFiles: { [module]: file } };
    }
    default:
      throw new Error(`no code layout for runtime ${record.runtime}`);
  }
}

/** A single Node source is ESM when it has top-level import or export statements. */
export function looksLikeEsm(source: string): boolean {
  return /^\s*(export\s+(default\s+|async\s+|function|const|let|var|class|\{)|import\s+[\w*{].*\sfrom\s|import\s+['"])/m.test(
    source,
  );
}
