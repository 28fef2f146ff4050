import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export type RuntimeId = 'python' | 'node';

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

/**
 * Finds the runtimes of this machine: python3 resolved to its real
 * executable (sys.executable, so a pyenv or asdf shim is followed once here
 * rather than on every start), and the node that runs Nova.
 */
export async function probeRuntimes(
  env: Record<string, string | undefined> = process.env,
): Promise<RuntimeProbeResult> {
  const runtimes: RuntimeDescriptor[] = [];
  const unavailable: RuntimeProbeResult['unavailable'] = {};
  try {
    const { stdout } = await execFileAsync(
      'python3',
      ['-c', 'import sys, platform; print(sys.executable); print(platform.python_version())'],
      { timeout: 10_000, env: { PATH: env['PATH'] ?? '/usr/bin:/bin', HOME: env['HOME'] ?? '/' } },
    );
    const [executable, version] = stdout.trim().split('\n');
    if (!executable || !version) throw new Error(`unexpected answer: ${stdout}`);
    runtimes.push({ id: 'python', name: 'Python', version, executable, entrypoint: [executable] });
  } catch (error) {
    unavailable.python = `python3 not usable: ${(error as Error).message.split('\n')[0]}`;
  }
  runtimes.push({
    id: 'node',
    name: 'Node.js',
    version: process.versions.node,
    executable: process.execPath,
    entrypoint: [process.execPath],
  });
  return { runtimes, unavailable };
}

/** The runtimes probed at start, shared by every feature that needs them. */
export class RuntimeCatalog {
  constructor(private readonly probe: RuntimeProbeResult) {}

  static async probe(): Promise<RuntimeCatalog> {
    return new RuntimeCatalog(await probeRuntimes());
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
