import { zipSync } from 'fflate';

/** A zip archive of the given files, as users upload multi-module code. */
export function zip(files: Record<string, string>): Buffer {
  return Buffer.from(
    zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, Buffer.from(text)]))),
  );
}
