// Fails when the checked-in generated code differs from what `npm run proto`
// would produce now: regenerates into a temp dir and compares file by file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const protoDir = 'libs/proto';
const checkedIn = join(protoDir, 'src', 'generated');
const out = mkdtempSync(join(tmpdir(), 'nova-proto-'));
const buf = (args) =>
  execFileSync('npx', ['--no-install', 'buf', ...args], { cwd: protoDir, stdio: ['ignore', 'inherit', 'inherit'] });

function files(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

try {
  buf(['lint']);
  // buf.gen.yaml writes to src/generated; --output moves that under the temp dir.
  buf(['generate', '--output', out]);
  execFileSync(process.execPath, ['scripts/fix-generated.mjs', join(out, 'src', 'generated')], { stdio: 'inherit' });
  buf(['build', '-o', join(out, 'src', 'generated', 'descriptors.binpb')]);
  const fresh = join(out, 'src', 'generated');
  const expected = files(fresh);
  const actual = files(checkedIn);
  const problems = [];
  for (const file of new Set([...expected, ...actual])) {
    if (!expected.includes(file)) problems.push(`${file}: checked in but no longer generated`);
    else if (!actual.includes(file)) problems.push(`${file}: generated but not checked in`);
    else if (!readFileSync(join(fresh, file)).equals(readFileSync(join(checkedIn, file))))
      problems.push(`${file}: differs`);
  }
  if (problems.length > 0) {
    console.error(`generated code is stale; run \`npm run proto\` and commit:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`generated code is up to date (${expected.length} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
