import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The first directory at or above `fromModule` (an import.meta.url) that
 * holds `marker` (a relative path): how compiled code in dist/ finds sources
 * shipped beside it (the .proto files, the language bootstraps, the README).
 */
export function findUpward(fromModule: string, marker: string): string {
  const start = dirname(fileURLToPath(fromModule));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, marker))) return dir;
    if (dirname(dir) === dir) throw new Error(`${marker} not found above ${start}`);
  }
}
