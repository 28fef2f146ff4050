import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync, readFileSync, readdirSync, readlinkSync, lstatSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, mkdtemp, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { isProcessAlive, type FunctionRecord } from '#storage';
import { findHandlerFile, handlerModule, isZip, unpackArchive } from '#runtimes';
import { runtimeCommand, runtimesDir, type InstancePaths, type LaunchProfile } from '../pool/launch.js';
import type { InstanceCgroup } from './cgroups.js';
import type { Isolation } from './isolation.js';
import { buildSeccompFilter } from './seccomp.js';

const execFileAsync = promisify(execFile);

/** The OS identity a function's processes run as. */
export interface FunctionIdentity {
  uid: number;
  gid: number;
}

/** A version's code on disk, as the bootstraps load it. */
export interface PreparedCode {
  /** As the instance sees it. */
  codeDir: string;
  /** The module a handler without a dot lives in. */
  module: string;
  /** Module name to file (relative to codeDir), where the runtime needs to know. */
  moduleFiles: Record<string, string>;
}

/** How to start one instance's process, and what it needs beside its command line. */
export interface LaunchCommand {
  executable: string;
  args: string[];
  /** Opened for each start and handed to the child as fd 4 (bubblewrap's --seccomp 4). */
  seccompFile: string | undefined;
  /** bubblewrap reports, as JSON on fd 5, the host pid of the instance's namespace. */
  reportsPid: boolean;
  cgroup: InstanceCgroup | undefined;
  /** The instance's own writable space as it sees it (its tmpfs), when the sandbox gives it one. */
  workDir: string | undefined;
}

export interface SandboxLimits {
  /** Size of each instance's /tmp. */
  tmpMb: number;
  cpus: number;
  pids: number;
}

// Function uids come from a range no distribution assigns to people or services.
export const FUNCTION_UID_BASE = 600_000;

/** Where an instance sees the bootstraps, the code and its /tmp inside its mount namespace. */
const INSIDE: InstancePaths = { runtimesDir: '/nova/runtimes', codeRoot: '/nova/code', writableRoot: '/tmp' };

const SANDBOX_PREFIX = 'nova-sandbox-';
const O_NOFOLLOW_CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * File descriptors this process inherited from whatever started it (no
 * close-on-exec flag): a child would inherit them too, so the launcher
 * closes them before the runtime starts. Node opens its own with O_CLOEXEC.
 */
function inheritedFds(): number[] {
  const fds: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return fds; // no /proc: nothing known to close
  }
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd <= 5) continue;
    try {
      const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
      const flags = Number.parseInt(/^flags:\s+([0-7]+)/m.exec(info)?.[1] ?? '0', 8);
      if ((flags & 0o2000000) === 0) fds.push(fd);
    } catch {
      // closed meanwhile (the directory listing's own descriptor)
    }
  }
  return fds;
}
const inherited = inheritedFds();
/** bash closes descriptors of any number; POSIX sh only 0 to 9 (the launcher then closes what it can). */
const LAUNCH_SHELL = existsSync('/bin/bash') ? '/bin/bash' : '/bin/sh';
const closable = LAUNCH_SHELL === '/bin/bash' ? inherited : inherited.filter((fd) => fd <= 9);

/** What of the host's root a runtime needs, read-only: /usr, the merged-/usr links, a few files of /etc. */
function systemMounts(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const path of ['/bin', '/sbin', '/lib', '/lib32', '/lib64']) {
    try {
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
      else if (stat.isDirectory()) args.push('--ro-bind', path, path);
    } catch {
      // not on this system
    }
  }
  for (const path of [
    '/etc/ssl',
    '/etc/ca-certificates',
    '/etc/pki',
    '/etc/alternatives',
    '/etc/ld.so.cache',
    '/etc/localtime',
    '/etc/nsswitch.conf',
    '/etc/hosts',
    '/etc/mime.types',
  ]) {
    args.push('--ro-bind-try', path, path);
  }
  return args;
}

/**
 * Where function code lives on this node, and how an instance is confined.
 *
 * With bubblewrap (the normal case), each instance gets its own pid,
 * network, mount, ipc and uts namespaces: it sees /usr, its bootstrap and
 * the code root read-only, a private size-limited /tmp, and nothing else of
 * the host; seccomp and no_new_privs apply; as root it drops to a uid and gid
 * of its function's own. With cgroups, each instance has its own group with
 * pids, memory and CPU limits, so that killing it kills everything it started.
 *
 * The sandbox root is created afresh with an unpredictable name (mkdtemp)
 * and owned by Nova; nothing found on disk is ever adopted, and Nova never
 * follows a link inside a tree a function could write.
 */
export class Sandbox {
  codeRoot = '';
  private instancesRoot = '';
  private root = '';
  private seccompFile: string | undefined;
  private resolvConf = '';
  private hostname = 'nova';
  readonly isolatesUsers = process.getuid?.() === 0;
  private readonly prepared = new Map<string, Promise<PreparedCode>>();

  constructor(
    private readonly isolation: Isolation,
    private readonly limits: SandboxLimits,
  ) {}

  get namespaces(): boolean {
    return this.isolation.bwrap !== undefined;
  }

  /** The paths an instance sees. */
  get paths(): InstancePaths {
    return this.namespaces ? INSIDE : { runtimesDir, codeRoot: this.codeRoot, writableRoot: this.instancesRoot };
  }

  /** Creates this process's sandbox root, and removes those of Nova processes that are gone. */
  async init(): Promise<void> {
    await removeStaleSandboxes();
    this.root = await mkdtemp(join(tmpdir(), SANDBOX_PREFIX));
    this.hostname = `nova-${randomBytes(4).toString('hex')}`;
    // 0711: function users pass through to their code (without namespaces)
    // but cannot list what is here.
    await chmod(this.root, 0o711);
    await writeFile(join(this.root, '.owner'), String(process.pid), { flag: O_NOFOLLOW_CREATE, mode: 0o600 });
    this.codeRoot = join(this.root, 'code');
    this.instancesRoot = join(this.root, 'instances');
    for (const dir of [this.codeRoot, this.instancesRoot]) {
      await mkdir(dir, { mode: 0o711 });
      await chmod(dir, 0o711);
    }
    if (this.namespaces) {
      this.resolvConf = join(this.root, 'resolv.conf');
      // slirp4netns's resolver, for functions with network=egress.
      await writeFile(this.resolvConf, 'nameserver 10.0.2.3\n', { flag: O_NOFOLLOW_CREATE, mode: 0o644 });
      if (this.isolation.seccomp) {
        this.seccompFile = join(this.root, 'seccomp.bpf');
        await writeFile(this.seccompFile, buildSeccompFilter(), { flag: O_NOFOLLOW_CREATE, mode: 0o600 });
      }
    }
  }

  /**
   * The uid and gid of a function's processes, when Nova is root: unique per
   * function, from the number the database gave it when it was created.
   */
  identityOf(record: Pick<FunctionRecord, 'sandboxId'>): FunctionIdentity | undefined {
    if (!this.isolatesUsers) return undefined;
    const id = FUNCTION_UID_BASE + record.sandboxId;
    return { uid: id, gid: id };
  }

  /** How to start a generic process of this profile, confined as far as this machine allows. */
  async launch(profile: LaunchProfile, instanceId: string): Promise<LaunchCommand> {
    const cgroup = await this.isolation.cgroups?.create(instanceId, {
      pids: this.limits.pids,
      cpus: this.limits.cpus,
      memoryBytes: this.instanceMemoryBytes(profile.memoryMb),
    });
    const runtime = runtimeCommand(profile, this.paths);
    const inner = this.isolation.bwrap ? [...this.bwrapArgs(profile), '--', ...runtime] : runtime;
    // A small shell joins the instance's cgroups and closes inherited
    // descriptors before anything of the instance runs, so that every
    // process it ever starts is counted and limited.
    const script = [
      ...closable.map((fd) => `exec ${fd}>&-`),
      'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 97; shift; done',
      'shift',
      'exec "$@"',
    ].join('\n');
    return {
      executable: LAUNCH_SHELL,
      args: ['-c', script, 'nova-instance', ...(cgroup?.procsFiles ?? []), '--', ...inner],
      seccompFile: this.isolation.bwrap ? this.seccompFile : undefined,
      reportsPid: this.isolation.bwrap !== undefined,
      cgroup,
      workDir: this.isolation.bwrap ? INSIDE.writableRoot : undefined,
    };
  }

  /** The cgroup memory limit of an instance: its function's memory and its /tmp. */
  instanceMemoryBytes(memoryMb: number): number {
    return (memoryMb + this.limits.tmpMb) * 1024 * 1024;
  }

  private bwrapArgs(profile: LaunchProfile): string[] {
    const asRoot = process.getuid?.() === 0;
    const args = [this.isolation.bwrap!];
    if (!asRoot) args.push('--unshare-user');
    args.push(
      '--unshare-pid',
      '--unshare-net',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      // One name per data-plane process, as a container's: what a function can tell of where it runs.
      '--hostname',
      this.hostname,
      '--die-with-parent',
      '--new-session',
    );
    // As root the bootstrap keeps only what it needs to become the
    // function's user; that user then has no capabilities at all.
    if (asRoot) args.push('--cap-drop', 'ALL', '--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID');
    args.push(...systemMounts());
    const prefix = dirname(dirname(profile.runtime.executable));
    if (!profile.runtime.executable.startsWith('/usr/')) args.push('--ro-bind', prefix, prefix);
    args.push(
      // bubblewrap makes the parents of mount points 0700: /nova must be passable by the function's user.
      '--perms',
      '0755',
      '--dir',
      '/nova',
      '--ro-bind',
      this.resolvConf,
      '/etc/resolv.conf',
      '--ro-bind',
      runtimesDir,
      INSIDE.runtimesDir,
      '--ro-bind',
      this.codeRoot,
      INSIDE.codeRoot,
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--size',
      String(this.limits.tmpMb * 1024 * 1024),
      '--perms',
      '1777',
      '--tmpfs',
      INSIDE.writableRoot,
      '--chdir',
      INSIDE.writableRoot,
      '--clearenv',
      '--setenv',
      'PATH',
      '/usr/local/bin:/usr/bin:/bin',
      '--setenv',
      'LANG',
      'C.UTF-8',
      '--info-fd',
      '5',
    );
    if (this.seccompFile) args.push('--seccomp', '4');
    return args;
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
    if (this.root) await removeSandboxRoot(this.root);
  }

  /**
   * A private working directory (also HOME and TMPDIR) for one instance,
   * where the sandbox gives it none of its own (no namespaces).
   */
  async createWorkDir(instanceId: string, identity: FunctionIdentity | undefined): Promise<string> {
    const dir = join(this.instancesRoot, instanceId);
    // instancesRoot is Nova's and not writable by functions: nothing can be planted here.
    await mkdir(dir, { mode: 0o700 });
    if (identity) await lchown(dir, identity.uid, identity.gid);
    return dir;
  }

  /**
   * Empties a work directory as the function's own user, so that nothing it
   * placed there (links, renamed directories) is ever followed with Nova's
   * rights; then removes the empty directory.
   */
  async removeWorkDir(dir: string, identity: FunctionIdentity | undefined): Promise<void> {
    if (identity) {
      await execFileAsync('/bin/rm', ['-rf', '--one-file-system', '--', dir], {
        uid: identity.uid,
        gid: identity.gid,
        env: { PATH: '/usr/bin:/bin' },
      }).catch(() => undefined);
      await rmdir(dir).catch(() => undefined);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
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
    const files = await codeFiles(record, code);
    for (const [path, content] of files.files) {
      const target = join(codeDir, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, content, { flag: O_NOFOLLOW_CREATE, mode: 0o600 });
    }
    await lockDown(functionDir, identity);
    return {
      codeDir: join(this.paths.codeRoot, relative(this.codeRoot, codeDir)),
      module: files.module,
      moduleFiles: files.moduleFiles,
    };
  }
}

/**
 * Owner root, group the function's: it may read, nobody may write. Only
 * directories and regular files are touched, without following links (the
 * tree is Nova's own, written just before; this is a second line).
 */
async function lockDown(path: string, identity: FunctionIdentity | undefined): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true });
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await lockDown(child, identity);
    else if (entry.isFile()) {
      if (identity) await lchown(child, 0, identity.gid);
      await chmod(child, identity ? 0o440 : 0o400);
    }
  }
  if (identity) await lchown(path, 0, identity.gid);
  await chmod(path, identity ? 0o550 : 0o500);
}

/**
 * Sandboxes left by Nova processes that are gone (killed, crashed): only
 * real directories owned by this user, whose owner file names a dead pid.
 */
/** How old a sandbox root without its owner's pid must be to count as left half-made by a crash. */
const HALF_MADE_SANDBOX_MS = 60_000;

/**
 * Removes the sandbox roots of Nova processes that are gone. A root whose
 * `.owner` holds no pid yet is another process's, being made right now
 * (its pid is written just after the directory): it is left alone unless
 * it is older than a minute.
 */
export async function removeStaleSandboxes(): Promise<void> {
  const uid = process.getuid?.();
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(SANDBOX_PREFIX)) continue;
    const path = join(tmpdir(), name);
    try {
      const stat = await lstat(path);
      if (!stat.isDirectory() || stat.uid !== uid) continue;
      const owner = Number(
        await readFile(join(path, '.owner'), { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW }),
      );
      if (!Number.isInteger(owner) || owner <= 0) {
        if (Date.now() - stat.mtimeMs < HALF_MADE_SANDBOX_MS) continue;
      } else if (isProcessAlive(owner)) continue;
      await removeSandboxRoot(path);
    } catch {
      // raced with another process, or not ours to judge
    }
  }
}

/**
 * Removes a sandbox root with its .owner last: a removal cut short (the
 * process killed meanwhile) leaves a root that still names its owner, so
 * the next Nova, or whoever reaps that process, finds and removes it.
 */
async function removeSandboxRoot(root: string): Promise<void> {
  const entries = await readdir(root).catch((): string[] => []);
  for (const entry of entries) {
    if (entry !== '.owner') await rm(join(root, entry), { recursive: true, force: true });
  }
  await rm(root, { recursive: true, force: true });
}

interface CodeFiles {
  files: Map<string, Uint8Array>;
  module: string;
  moduleFiles: Record<string, string>;
}

/** How each runtime lays a version's code out on disk. */
async function codeFiles(record: FunctionRecord, code: Buffer): Promise<CodeFiles> {
  const { module } = handlerModule(record.runtime, record.handler);
  switch (record.runtime) {
    case 'wasm':
      return { files: new Map([['module.wasm', code]]), module: 'module', moduleFiles: { module: 'module.wasm' } };
    case 'python': {
      if (isZip(code)) return { files: await unpackArchive(code, { keepContents: true }), module, moduleFiles: {} };
      return { files: new Map([[`${module.replaceAll('.', '/')}.py`, code]]), module, moduleFiles: {} };
    }
    case 'node': {
      if (isZip(code)) {
        const files = await unpackArchive(code, { keepContents: true });
        const file = findHandlerFile('node', record.handler, new Set(files.keys()));
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
