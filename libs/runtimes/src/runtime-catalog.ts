import { execFile } from 'node:child_process';
import { access, constants, realpath } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { userInfo } from 'node:os';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export type RuntimeId = 'python' | 'node' | 'wasm';

/** A language runtime this installation can really run, found by probing. */
export interface RuntimeDescriptor {
  id: RuntimeId;
  name: string;
  version: string;
  /** The resolved interpreter, never a shell shim. */
  executable: string;
  entrypoint: string[];
}

export interface RuntimeProbeResult {
  runtimes: RuntimeDescriptor[];
  /** Why a runtime is missing, by id. */
  unavailable: Partial<Record<RuntimeId, string>>;
}

/** The unprivileged uid that probes run as when Nova is root: functions never run as root. */
export const PROBE_UID = 65534;

const PYTHON_PROBE = 'import sys, platform, json, ctypes; print(sys.executable); print(platform.python_version())';

/**
 * Every python3 on PATH, resolved through symlinks and shims to the real
 * executable, in PATH order.
 */
async function pythonCandidates(path: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'python3');
    try {
      await access(candidate, constants.X_OK);
    } catch {
      continue;
    }
    found.push(candidate);
  }
  return found;
}

/**
 * Finds python3 by running it: the first candidate on PATH that starts and
 * imports what the bootstrap needs, as the unprivileged user functions run
 * as when Nova is root (an interpreter under /root, as pyenv installs it,
 * cannot serve functions then). Its sys.executable is the real interpreter,
 * so a pyenv or asdf shim is followed once here rather than on every start.
 */
async function probePython(path: string): Promise<RuntimeDescriptor | string> {
  const candidates = await pythonCandidates(path);
  if (candidates.length === 0) return 'no python3 on PATH';
  const asRoot = userInfo().uid === 0;
  const failures: string[] = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    try {
      const { stdout } = await execFileAsync(candidate, ['-I', '-c', PYTHON_PROBE], {
        timeout: 10_000,
        env: { PATH: path, HOME: '/' },
        cwd: '/',
        ...(asRoot ? { uid: PROBE_UID, gid: PROBE_UID } : {}),
      });
      const [reported, version] = stdout.trim().split('\n');
      if (!reported || !version) throw new Error(`unexpected answer: ${stdout}`);
      const executable = await realpath(reported);
      if (seen.has(executable)) continue;
      seen.add(executable);
      return { id: 'python', name: 'Python', version, executable, entrypoint: [executable, '-I', '-B'] };
    } catch (error) {
      failures.push(`${candidate}: ${(error as Error).message.split('\n')[0] ?? ''}`);
    }
  }
  return `no usable python3${asRoot ? ' for an unprivileged user' : ''}: ${failures.join('; ')}`;
}

/** Finds the runtimes of this machine: python3, the node that runs Nova, and WASI on that node. */
export async function probeRuntimes(path: string): Promise<RuntimeProbeResult> {
  const runtimes: RuntimeDescriptor[] = [];
  const unavailable: RuntimeProbeResult['unavailable'] = {};
  const python = await probePython(path);
  if (typeof python === 'string') unavailable.python = python;
  else runtimes.push(python);
  runtimes.push({
    id: 'node',
    name: 'Node.js',
    version: process.versions.node,
    executable: process.execPath,
    entrypoint: [process.execPath],
  });
  runtimes.push({
    id: 'wasm',
    name: 'WebAssembly (WASI preview 1)',
    version: `wasi_snapshot_preview1 on V8 ${process.versions.v8}`,
    executable: process.execPath,
    entrypoint: [process.execPath],
  });
  return { runtimes, unavailable };
}

/** The runtimes probed at start, shared by every feature that needs them. */
export class RuntimeCatalog {
  constructor(private readonly probe: RuntimeProbeResult) {}

  static async probe(path: string): Promise<RuntimeCatalog> {
    return new RuntimeCatalog(await probeRuntimes(path));
  }

  list(): readonly RuntimeDescriptor[] {
    return this.probe.runtimes;
  }

  find(id: string): RuntimeDescriptor | undefined {
    return this.probe.runtimes.find((runtime) => runtime.id === id);
  }

  ids(): string[] {
    return this.probe.runtimes.map((runtime) => runtime.id);
  }

  unavailable(): Partial<Record<RuntimeId, string>> {
    return this.probe.unavailable;
  }
}
