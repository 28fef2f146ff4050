import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Cgroups } from './cgroups.js';
import { seccompSupported } from './seccomp.js';

const execFileAsync = promisify(execFile);

/**
 * What this machine lets Nova use to confine instances, found once at start:
 * namespaces through bubblewrap, resource limits through cgroups, outbound
 * network through slirp4netns. Anything missing is said at start and in
 * Health, and docs/security.md says what it leaves open.
 */
export interface Isolation {
  /** bubblewrap, when it can create namespaces here; otherwise why not. */
  bwrap: string | undefined;
  bwrapMissing: string | undefined;
  cgroups: Cgroups | undefined;
  cgroupsMissing: string | undefined;
  slirp4netns: string | undefined;
  seccomp: boolean;
}

async function findExecutable(name: string, path: string): Promise<string | undefined> {
  for (const dir of [...path.split(delimiter), '/usr/bin', '/usr/local/bin', '/bin']) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether bubblewrap can make every namespace an instance gets, on this kernel and as this user. */
async function probeBwrap(path: string): Promise<{ bwrap?: string; missing?: string }> {
  const bwrap = await findExecutable('bwrap', path);
  if (!bwrap) return { missing: 'bubblewrap is not installed (Debian package bubblewrap)' };
  const asRoot = process.getuid?.() === 0;
  try {
    await execFileAsync(
      bwrap,
      [
        ...(asRoot ? [] : ['--unshare-user']),
        '--unshare-pid',
        '--unshare-net',
        '--unshare-ipc',
        '--unshare-uts',
        '--die-with-parent',
        '--ro-bind',
        '/',
        '/',
        '--proc',
        '/proc',
        '--tmpfs',
        '/tmp',
        'true',
      ],
      { timeout: 10_000, env: { PATH: '/usr/bin:/bin' } },
    );
    return { bwrap };
  } catch (error) {
    const reason = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    return { missing: `bubblewrap cannot create namespaces here (${reason.split('\n')[0] ?? ''})` };
  }
}

export async function probeIsolation(path: string): Promise<Isolation> {
  const [bwrap, cgroups, slirp4netns] = await Promise.all([
    probeBwrap(path),
    Cgroups.detect().catch((error: Error) => `cgroups unusable: ${error.message}`),
    findExecutable('slirp4netns', path),
  ]);
  return {
    bwrap: bwrap.bwrap,
    bwrapMissing: bwrap.missing,
    cgroups: typeof cgroups === 'string' ? undefined : cgroups,
    cgroupsMissing: typeof cgroups === 'string' ? cgroups : undefined,
    slirp4netns,
    seccomp: seccompSupported(),
  };
}

/** One line per mechanism, for the start log and Health. */
export function describeIsolation(isolation: Isolation): Record<string, string> {
  return {
    'sandbox.namespaces': isolation.bwrap
      ? `ok (bubblewrap: pid, net, mount, ipc, uts; ${isolation.seccomp ? 'seccomp filter' : 'no seccomp filter on this architecture'})`
      : `unavailable: ${isolation.bwrapMissing ?? 'unknown'}; functions share the node's network, processes and files`,
    'sandbox.cgroups': isolation.cgroups
      ? `ok (${isolation.cgroups.describe()})`
      : `unavailable: ${isolation.cgroupsMissing ?? 'unknown'}; no per-instance pids, memory or CPU limits from the kernel`,
    'sandbox.egress': isolation.slirp4netns
      ? 'ok (slirp4netns)'
      : 'unavailable: slirp4netns is not installed; functions with network=egress cannot start',
  };
}
