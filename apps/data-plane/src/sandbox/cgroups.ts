import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { access, constants, mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What one instance may use; the kernel holds it to these. */
export interface CgroupLimits {
  /** Processes and threads at once. */
  pids: number;
  /** CPU time in cores. */
  cpus: number;
  /** Memory of every process in the instance and of its tmpfs together. */
  memoryBytes: number;
}

/** The control group of one instance: every process it starts is in it. */
export interface InstanceCgroup {
  /** cgroup.procs files a process writes its own pid to, to join, before it runs the runtime. */
  readonly procsFiles: string[];
  setMemoryLimit(bytes: number): Promise<void>;
  /** Anonymous memory of all its processes (not its tmpfs or page cache), for the memory watchdog. */
  anonymousBytes(): number | undefined;
  /** CPU time its processes used so far, in ms. */
  cpuUsageMs(): number | undefined;
  /** Whether the kernel's OOM killer ended a process of it. */
  oomKilled(): boolean;
  remove(): Promise<void>;
}

const CFS_PERIOD_US = 100_000;

async function writable(path: string): Promise<boolean> {
  try {
    await access(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function statField(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * A cgroup file, read synchronously: the kernel makes its text in memory,
 * so the read never waits on a disk, and the watchdogs read one per busy
 * instance ten times a second. fs/promises would make each read four
 * thread-pool round trips (open, fstat, read, close), each a wake-up of
 * the event loop (docs/BENCHMARKS.md, issue 14).
 */
function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** rmdir of a cgroup fails while its last processes are still being torn down: try for a while. */
async function removeCgroupDir(path: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await rmdir(path);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * This process's share of the cgroup tree: one group per data-plane process,
 * one per instance below it. Version 1 (a hierarchy per controller, as on
 * these machines) and version 2 (one unified tree) are both handled.
 */
export class Cgroups {
  private constructor(
    readonly version: 1 | 2,
    /** v1: controller → this process's group in its hierarchy; v2: one entry, 'unified'. */
    private readonly groups: Record<string, string>,
  ) {}

  /** Finds writable controllers for pids, memory and CPU; a string says why there are none. */
  static async detect(): Promise<Cgroups | string> {
    const mounts = readOrUndefined('/proc/self/mounts') ?? '';
    const tag = `nova-${process.pid}-${randomBytes(4).toString('hex')}`;
    const v1: Record<string, string> = {};
    let v2Root: string | undefined;
    for (const line of mounts.split('\n')) {
      const [, mountPoint, type, options] = line.split(' ');
      if (!mountPoint || !options) continue;
      if (type === 'cgroup') {
        for (const controller of ['pids', 'memory', 'cpu', 'cpuacct']) {
          if (options.split(',').includes(controller)) v1[controller] ??= mountPoint;
        }
      } else if (type === 'cgroup2') {
        v2Root ??= mountPoint;
      }
    }
    if (v1['pids'] && v1['memory'] && v1['cpu'] && v1['cpuacct']) {
      for (const mount of Object.values(v1)) {
        if (!(await writable(mount))) return `cgroup v1 hierarchy ${mount} is not writable (run Nova as root)`;
      }
      const groups: Record<string, string> = {};
      for (const [controller, mount] of Object.entries(v1)) {
        groups[controller] = join(mount, tag);
        await mkdir(groups[controller], { recursive: true });
      }
      return new Cgroups(1, groups);
    }
    if (v2Root) {
      const controllers = readOrUndefined(join(v2Root, 'cgroup.controllers')) ?? '';
      const missing = ['pids', 'memory', 'cpu'].filter((name) => !controllers.split(/\s+/).includes(name));
      if (missing.length > 0) return `cgroup v2 at ${v2Root} lacks the ${missing.join(', ')} controller(s)`;
      if (!(await writable(v2Root))) return `cgroup v2 at ${v2Root} is not writable (run Nova as root)`;
      const group = join(v2Root, tag);
      await mkdir(group, { recursive: true });
      await writeFile(join(group, 'cgroup.subtree_control'), '+pids +memory +cpu');
      return new Cgroups(2, { unified: group });
    }
    return 'no cgroup hierarchy with the pids, memory and cpu controllers is mounted';
  }

  describe(): string {
    return this.version === 1 ? 'cgroup v1 (pids, memory, cpu, cpuacct)' : 'cgroup v2 (pids, memory, cpu)';
  }

  async create(instanceId: string, limits: CgroupLimits): Promise<InstanceCgroup> {
    const dirs = Object.fromEntries(
      Object.entries(this.groups).map(([controller, group]) => [controller, join(group, instanceId)]),
    );
    for (const dir of new Set(Object.values(dirs))) await mkdir(dir);
    const quota = Math.max(1000, Math.round(limits.cpus * CFS_PERIOD_US));
    if (this.version === 1) {
      await writeFile(join(dirs['pids']!, 'pids.max'), String(limits.pids));
      await writeFile(join(dirs['cpu']!, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
      await writeFile(join(dirs['cpu']!, 'cpu.cfs_quota_us'), String(quota));
      await writeFile(join(dirs['memory']!, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      return new CgroupV1(dirs);
    }
    const dir = dirs['unified']!;
    await writeFile(join(dir, 'pids.max'), String(limits.pids));
    await writeFile(join(dir, 'cpu.max'), `${quota} ${CFS_PERIOD_US}`);
    await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
    await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
    return new CgroupV2(dir);
  }

  /** Removes this process's groups, once every instance is gone. */
  async close(): Promise<void> {
    for (const group of new Set(Object.values(this.groups))) await removeCgroupDir(group).catch(() => undefined);
  }
}

class CgroupV1 implements InstanceCgroup {
  readonly procsFiles: string[];

  constructor(private readonly dirs: Record<string, string>) {
    this.procsFiles = Object.values(dirs).map((dir) => join(dir, 'cgroup.procs'));
  }

  async setMemoryLimit(bytes: number): Promise<void> {
    await writeFile(join(this.dirs['memory']!, 'memory.limit_in_bytes'), String(bytes));
  }

  anonymousBytes(): number | undefined {
    const stat = readOrUndefined(join(this.dirs['memory']!, 'memory.stat'));
    return stat === undefined ? undefined : statField(stat, 'total_rss');
  }

  cpuUsageMs(): number | undefined {
    const usage = readOrUndefined(join(this.dirs['cpuacct']!, 'cpuacct.usage'));
    return usage === undefined ? undefined : Number(usage.trim()) / 1e6;
  }

  oomKilled(): boolean {
    const control = readOrUndefined(join(this.dirs['memory']!, 'memory.oom_control'));
    return (statField(control ?? '', 'oom_kill') ?? 0) > 0;
  }

  async remove(): Promise<void> {
    for (const dir of Object.values(this.dirs)) await removeCgroupDir(dir);
  }
}

class CgroupV2 implements InstanceCgroup {
  readonly procsFiles: string[];

  constructor(private readonly dir: string) {
    this.procsFiles = [join(dir, 'cgroup.procs')];
  }

  async setMemoryLimit(bytes: number): Promise<void> {
    await writeFile(join(this.dir, 'memory.max'), String(bytes));
  }

  anonymousBytes(): number | undefined {
    const stat = readOrUndefined(join(this.dir, 'memory.stat'));
    return stat === undefined ? undefined : statField(stat, 'anon');
  }

  cpuUsageMs(): number | undefined {
    const stat = readOrUndefined(join(this.dir, 'cpu.stat'));
    const usec = stat === undefined ? undefined : statField(stat, 'usage_usec');
    return usec === undefined ? undefined : usec / 1000;
  }

  oomKilled(): boolean {
    const events = readOrUndefined(join(this.dir, 'memory.events'));
    return (statField(events ?? '', 'oom_kill') ?? 0) > 0;
  }

  async remove(): Promise<void> {
    await removeCgroupDir(this.dir);
  }
}
