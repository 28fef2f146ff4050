import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface PosixUser {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root; as root, run it as an unprivileged user. */
export async function postgresUser(): Promise<PosixUser | undefined> {
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

/**
 * <dataDir>/postgres, unless the unprivileged user PostgreSQL runs as cannot
 * reach it (a data directory under /root, which is 0700): then a directory
 * of its own under /var/lib/nova, named after the data directory.
 */
export async function clusterDirFor(
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
    const fallback = fallbackClusterDir(dataDir);
    log(`${dataDir} is not reachable by the database's user (uid ${runAs.uid}); keeping the cluster in ${fallback}`);
    await mkdir('/var/lib/nova', { recursive: true, mode: 0o711 });
    return fallback;
  }
}

export function fallbackClusterDir(dataDir: string): string {
  return join('/var/lib/nova', `postgres-${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`);
}
