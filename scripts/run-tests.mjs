// Runs the compiled tests with Node's test runner, in three tiers: unit
// specs (*.spec.js beside the code), integration specs (*.int-spec.js beside
// the code: Nest testing modules over a real PostgreSQL) and e2e specs
// (test/**/*.e2e-spec.js: real servers and clients). Usage:
//   node scripts/run-tests.mjs [unit|int|e2e|all] [extra node --test flags]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [kind = 'all', ...extra] = process.argv.slice(2);

function find(dir, suffix, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) find(path, suffix, found);
    else if (entry.name.endsWith(suffix)) found.push(path);
  }
  return found;
}

const beside = ['dist/apps', 'dist/libs'];
const unit = beside.flatMap((dir) => find(dir, '.spec.js')).filter((f) => !f.endsWith('.int-spec.js'));
const int = beside.flatMap((dir) => find(dir, '.int-spec.js'));
const e2e = find('dist/test', '.e2e-spec.js');
const tiers = { unit, int, e2e, all: [...unit, ...int, ...e2e] };
const files = tiers[kind];
if (!files) {
  console.error(`unknown tier ${kind}; one of ${Object.keys(tiers).join(', ')}`);
  process.exit(2);
}
if (files.length === 0) {
  console.error(`no ${kind} test files found under dist/; run the build first`);
  process.exit(1);
}

// Two e2e files at a time: each starts its own servers and PostgreSQL, and
// the machine has two cores.
// A test run leaves nothing behind: temp folders it made (nova-*) are its failure.
const novaTemps = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('nova-')));
const tempsBefore = novaTemps();

const result = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=180000', ...extra, ...files.sort()],
  { stdio: 'inherit' },
);
const leftBehind = [...novaTemps()].filter((name) => !tempsBefore.has(name));
if (leftBehind.length > 0) {
  console.error(`the tests left ${leftBehind.length} folders in ${tmpdir()}: ${leftBehind.join(', ')}`);
  process.exit(result.status || 1);
}
process.exit(result.status ?? 1);
