import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from './nova-process.js';
import type { NovaFixture } from './fixture.js';

/** Writes a Python handler into the fixture's data dir and creates it through the CLI. */
export async function createPythonWithCli(
  fx: NovaFixture,
  env: Record<string, string>,
  name: string,
  source: string,
): Promise<void> {
  const code = join(fx.database.dataDir, `${name}.py`);
  await writeFile(code, source);
  const created = await runCli(
    ['functions', 'create', name, '--runtime', 'python', '--handler', 'handler', '--code', code],
    env,
  );
  assert.equal(created.code, 0, created.stderr);
}
