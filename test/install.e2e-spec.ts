import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import semver from 'semver';
import { repoRoot } from './support/nova-process.js';

interface LockedPackage {
  version?: string;
  engines?: { node?: string } | string[];
}

async function json<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(join(repoRoot, file), 'utf8')) as T;
}

describe('install', () => {
  // `npm ci` warns EBADENGINE for every locked package whose engines exclude
  // the running Node; the oldest Node the README names must satisfy them all.
  it('locks no package that refuses the oldest Node the README and package.json name', async () => {
    const manifest = await json<{ engines: { node: string } }>('package.json');
    const oldest = semver.minVersion(manifest.engines.node);
    assert.ok(oldest, `package.json engines.node ${manifest.engines.node} has a minimum`);
    const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
    const named = `Node ${oldest.major}.${oldest.minor} or newer`;
    assert.ok(readme.includes(named), `README says "${named}"`);

    const lock = await json<{ packages: Record<string, LockedPackage> }>('package-lock.json');
    const refusing: string[] = [];
    let checked = 0;
    for (const [path, locked] of Object.entries(lock.packages)) {
      const range = Array.isArray(locked.engines) ? undefined : locked.engines?.node;
      if (!range || path === '') continue;
      checked++;
      if (!semver.satisfies(oldest, range)) refusing.push(`${path}@${locked.version} wants node ${range}`);
    }
    assert.ok(checked > 20, `the lock records engines (${checked} packages checked)`);
    assert.deepEqual(refusing, [], `these would warn on Node ${oldest.version}`);
  });
});
