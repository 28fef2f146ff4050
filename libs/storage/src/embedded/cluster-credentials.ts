import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RoleCredentials {
  user: string;
  password: string;
}

/**
 * admin is the cluster's superuser, used only at start to set up the
 * database; Nova itself connects as app, which owns the database and
 * nothing else (a leaked password does not give a shell as the database's
 * user, as COPY ... TO PROGRAM would for a superuser).
 */
export interface ClusterCredentials {
  admin: RoleCredentials;
  app: RoleCredentials;
}

/**
 * The cluster's passwords, in <dataDir>/postgres-credentials.json (0600).
 * A file from before the roles were split ({user, password} of the
 * superuser) is upgraded in place with a new app role.
 */
export async function readOrCreateCredentials(dataDir: string): Promise<ClusterCredentials> {
  const file = join(dataDir, 'postgres-credentials.json');
  const newPassword = (): string => randomBytes(24).toString('base64url');
  let stored: Partial<ClusterCredentials> & Partial<RoleCredentials>;
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as typeof stored;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT') throw error;
    const created: ClusterCredentials = {
      admin: { user: 'postgres', password: newPassword() },
      app: { user: 'nova', password: newPassword() },
    };
    await writeFile(file, JSON.stringify(created), { mode: 0o600, flag: 'wx' });
    return created;
  }
  if (stored.admin && stored.app) return { admin: stored.admin, app: stored.app };
  if (typeof stored.user !== 'string' || typeof stored.password !== 'string') {
    throw new Error(`${file} is not a credentials file Nova wrote`);
  }
  const upgraded: ClusterCredentials = {
    admin: { user: stored.user, password: stored.password },
    app: { user: 'nova_app', password: newPassword() },
  };
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(upgraded), { mode: 0o600, flag: 'wx' });
  await rename(temporary, file);
  return upgraded;
}
