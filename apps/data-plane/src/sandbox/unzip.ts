import { unzipSync } from 'fflate';
import { normalize, isAbsolute, sep } from 'node:path';

const MAX_FILES = 10_000;
const MAX_UNPACKED_BYTES = 256 * 1024 * 1024;

export function isZip(code: Uint8Array): boolean {
  return code.length >= 4 && code[0] === 0x50 && code[1] === 0x4b && code[2] === 0x03 && code[3] === 0x04;
}

/**
 * The files of a zip archive, refusing what could escape the code directory
 * (absolute paths, `..`) or exhaust the disk (zip bombs).
 */
export function unzipCode(code: Uint8Array): Map<string, Uint8Array> {
  let files = 0;
  let bytes = 0;
  const entries = unzipSync(code, {
    filter(file) {
      files += 1;
      bytes += file.originalSize;
      if (files > MAX_FILES) throw new Error(`the archive holds more than ${MAX_FILES} files`);
      if (bytes > MAX_UNPACKED_BYTES) throw new Error(`the archive unpacks to more than ${MAX_UNPACKED_BYTES} bytes`);
      return true;
    },
  });
  const result = new Map<string, Uint8Array>();
  for (const [name, content] of Object.entries(entries)) {
    if (name.endsWith('/')) continue;
    const path = normalize(name);
    if (isAbsolute(path) || path.split(sep).includes('..'))
      throw new Error(`the archive path "${name}" leaves its directory`);
    result.set(path, content);
  }
  return result;
}
