// ts-proto's NestJS output imports protobufjs's `wrappers` by name, but
// protobufjs is CommonJS and Node's ESM loader cannot see that name. This
// rewrites the import to the default export, in every generated file under
// the given folder. `npm run proto` and scripts/check-generated.mjs run it.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const named = 'import { wrappers } from "protobufjs";';
const fixed = 'import protobufjs from "protobufjs";\nconst { wrappers } = protobufjs;';

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/fix-generated.mjs <generated dir>');
  process.exit(2);
}
for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
  const path = join(entry.parentPath, entry.name);
  const text = readFileSync(path, 'utf8');
  if (text.includes(named)) writeFileSync(path, text.replace(named, fixed));
}
