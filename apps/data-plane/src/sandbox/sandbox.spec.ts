import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { looksLikeEsm, removeStaleSandboxes } from './sandbox.js';

describe('looksLikeEsm', () => {
  it('sees top-level import and export statements', () => {
    for (const source of [
      'export function main() {}',
      'export const handler = async () => 1;',
      'export default { handler() {} };',
      "import fs from 'node:fs';\nexports.x = 1;",
      "import { a } from './a.mjs';",
      "import './side-effect.mjs';",
      'export async function handler() {}',
      'const x = 1;\nexport { x as handler };',
    ]) {
      assert.ok(looksLikeEsm(source), source);
    }
  });

  it('takes everything else for CommonJS', () => {
    for (const source of [
      'exports.handler = async () => 1;',
      'module.exports = { handler() {} };',
      "const fs = require('node:fs');\nexports.handler = () => fs;",
      '// export function commented() {}\nexports.handler = () => 1;',
      "const s = 'import x from y';\nexports.handler = () => s;",
    ]) {
      assert.ok(!looksLikeEsm(source), source);
    }
  });
});

describe('removeStaleSandboxes', () => {
  /** A sandbox root as a Nova process leaves it, with what its .owner holds. */
  async function plant(owner: string, ageMs = 0): Promise<string> {
    const root = join(tmpdir(), `nova-sandbox-test${randomBytes(4).toString('hex')}`);
    await mkdir(join(root, 'code'), { recursive: true });
    await writeFile(join(root, '.owner'), owner);
    if (ageMs > 0) {
      const then = new Date(Date.now() - ageMs);
      await utimes(root, then, then);
    }
    return root;
  }

  it("removes a gone process's root, keeps a live one's and one being made by another process", async () => {
    const gone = await plant('999999999');
    const live = await plant(String(process.pid));
    // Two servers starting at once: the other has made its root and not yet written its pid.
    const beingMade = await plant('');
    const halfMadeLongAgo = await plant('', 10 * 60_000);
    try {
      await removeStaleSandboxes();
      assert.equal(existsSync(gone), false, 'the root of a process that is gone');
      assert.equal(existsSync(live), true, 'the root of a live process');
      assert.equal(existsSync(beingMade), true, 'a root another process is making right now');
      assert.equal(existsSync(halfMadeLongAgo), false, 'a root a crash left half-made');
    } finally {
      for (const root of [gone, live, beingMade, halfMadeLongAgo]) await rm(root, { recursive: true, force: true });
    }
  });
});
