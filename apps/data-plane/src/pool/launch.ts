import { join } from 'node:path';
import { findUpward } from '#proto';
import type { RuntimeDescriptor } from '#runtimes';

/** The bootstraps ship as sources (apps/data-plane/src/runtimes/<lang>/), found from this module. */
export const runtimesDir = join(
  findUpward(import.meta.url, 'apps/data-plane/src/runtimes/python/bootstrap.py'),
  'apps',
  'data-plane',
  'src',
  'runtimes',
);

/**
 * What a generic process is started for. Python applies the memory limit
 * itself at load (setrlimit), so one profile serves every size; V8's heap
 * limit is fixed at start, so Node and WASM processes are per memory size.
 */
export interface LaunchProfile {
  key: string;
  runtime: RuntimeDescriptor;
  memoryMb: number;
}

export function profileFor(runtime: RuntimeDescriptor, memoryMb: number): LaunchProfile {
  return runtime.id === 'python'
    ? { key: 'python', runtime, memoryMb }
    : { key: `${runtime.id}:${memoryMb}`, runtime, memoryMb };
}

/** Where an instance finds the bootstraps, the code and its writable space, as it sees them. */
export interface InstancePaths {
  runtimesDir: string;
  codeRoot: string;
  /** Below which the instance may write. */
  writableRoot: string;
}

/** The runtime's own command line, before any sandbox wraps it. */
export function runtimeCommand(profile: LaunchProfile, paths: InstancePaths): string[] {
  const { runtime } = profile;
  switch (runtime.id) {
    case 'python':
      return [runtime.executable, ...runtime.entrypoint.slice(1), join(paths.runtimesDir, 'python', 'bootstrap.py')];
    case 'node': {
      // Node's permission model: the bootstrap, code and instance directories
      // may be read; only the instance's own space written; no child
      // processes, workers or native addons. (Node 20 aborts on a repeated path.)
      const readable = new Set([join(paths.runtimesDir, 'node'), paths.codeRoot, paths.writableRoot]);
      return [
        runtime.executable,
        '--experimental-permission',
        ...[...readable].map((dir) => `--allow-fs-read=${dir}/*`),
        `--allow-fs-write=${paths.writableRoot}/*`,
        `--max-old-space-size=${profile.memoryMb}`,
        '--disable-warning=ExperimentalWarning',
        join(paths.runtimesDir, 'node', 'bootstrap.mjs'),
      ];
    }
    case 'wasm':
      // Node 20's permission model forbids node:wasi outright (--allow-wasi
      // came in Node 22), so WASM instances run without it. WASI is a
      // capability sandbox of its own: the module gets no preopened
      // directories, only stdin, stdout and stderr, so it cannot reach files.
      return [
        runtime.executable,
        `--max-old-space-size=${profile.memoryMb}`,
        '--disable-warning=ExperimentalWarning',
        join(paths.runtimesDir, 'wasm', 'bootstrap.mjs'),
      ];
  }
}
