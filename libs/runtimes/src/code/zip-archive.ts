import { crc32, inflateRawSync } from 'node:zlib';

/**
 * What a function's code archive may hold: Lambda's limit on unpacked size,
 * and enough entries for any real dependency tree.
 */
export const archiveLimits = {
  maxEntries: 10_000,
  maxUnpackedBytes: 250 * 1024 * 1024,
  maxPathBytes: 1024,
  maxSegmentBytes: 255,
} as const;

/** Why an archive was refused; entry is the offending name as the archive spells it. */
export class ArchiveError extends Error {
  constructor(
    readonly reason: string,
    readonly entry?: string,
  ) {
    super(entry === undefined ? reason : `entry ${JSON.stringify(entry.slice(0, 200))}: ${reason}`);
    this.name = 'ArchiveError';
  }
}

export function isZip(code: Uint8Array): boolean {
  return code.length >= 4 && code[0] === 0x50 && code[1] === 0x4b && code[2] === 0x03 && code[3] === 0x04;
}

/** One file of an archive, as its central directory describes it. */
interface ZipEntry {
  /** The name as stored, for error messages. */
  rawName: string;
  /** Normalised relative path (no '.', no empty segments). */
  path: string;
  directory: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const UNIX_HOSTS = new Set([3, 19]); // Unix, OS X: the high 16 bits of the external attributes are st_mode.
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and checks an archive's table of contents without unpacking
 * anything: every name is a plain relative path (no absolute paths, no
 * `..`, no links or devices, no two entries for one path, no file where
 * another entry needs a directory), at most maxEntries entries and
 * maxUnpackedBytes declared in all. The declared sizes are then held to
 * by unpackZip, so an archive that lies about them is refused too.
 */
export function readZipEntries(archive: Buffer): ZipEntry[] {
  const eocd = findEndOfCentralDirectory(archive);
  const diskNumber = archive.readUInt16LE(eocd + 4);
  const directoryDisk = archive.readUInt16LE(eocd + 6);
  const count = archive.readUInt16LE(eocd + 10);
  const directorySize = archive.readUInt32LE(eocd + 12);
  const directoryOffset = archive.readUInt32LE(eocd + 16);
  if (count === 0xffff || directoryOffset === 0xffffffff || directorySize === 0xffffffff) {
    throw new ArchiveError('ZIP64 archives are not supported (a function archive is far below their 4 GiB)');
  }
  if (diskNumber !== 0 || directoryDisk !== 0) throw new ArchiveError('multi-part archives are not supported');
  if (count > archiveLimits.maxEntries) {
    throw new ArchiveError(`the archive has ${count} entries; at most ${archiveLimits.maxEntries}`);
  }
  if (directoryOffset + directorySize > eocd) throw new ArchiveError('the central directory lies outside the archive');

  const entries: ZipEntry[] = [];
  const files = new Set<string>();
  const directories = new Set<string>();
  let declaredBytes = 0;
  let offset = directoryOffset;
  for (let index = 0; index < count; index++) {
    if (offset + CENTRAL_SIZE > eocd || archive.readUInt32LE(offset) !== CENTRAL_SIGNATURE) {
      throw new ArchiveError(`the central directory is damaged at entry ${index + 1}`);
    }
    const madeBy = archive.readUInt16LE(offset + 4);
    const flags = archive.readUInt16LE(offset + 8);
    const method = archive.readUInt16LE(offset + 10);
    const crc = archive.readUInt32LE(offset + 16);
    const compressedSize = archive.readUInt32LE(offset + 20);
    const size = archive.readUInt32LE(offset + 24);
    const nameLength = archive.readUInt16LE(offset + 28);
    const extraLength = archive.readUInt16LE(offset + 30);
    const commentLength = archive.readUInt16LE(offset + 32);
    const externalAttributes = archive.readUInt32LE(offset + 38);
    const localHeaderOffset = archive.readUInt32LE(offset + 42);
    const nameStart = offset + CENTRAL_SIZE;
    if (nameStart + nameLength > eocd) throw new ArchiveError(`the central directory is damaged at entry ${index + 1}`);
    const rawName = decodeName(archive.subarray(nameStart, nameStart + nameLength), index);
    offset = nameStart + nameLength + extraLength + commentLength;

    const fail = (reason: string): never => {
      throw new ArchiveError(reason, rawName);
    };
    if (flags & 0x1) fail('is encrypted');
    if (method !== 0 && method !== 8) fail(`uses compression method ${method}; only stored and deflate are supported`);
    const mode = UNIX_HOSTS.has(madeBy >> 8) ? (externalAttributes >>> 16) & S_IFMT : 0;
    if (mode === S_IFLNK) fail('is a symbolic link; put the file itself in the archive');
    if (mode !== 0 && mode !== S_IFREG && mode !== S_IFDIR) fail('is not a regular file or directory');
    const directory = rawName.endsWith('/') || rawName.endsWith('\\') || mode === S_IFDIR;
    const path = normalisePath(rawName, fail);
    if (directory) {
      if (size !== 0) fail('is a directory with content');
      if (path === '') continue;
    } else if (path === '') {
      fail('has no file name');
    }

    const segments = path.split('/');
    for (let depth = 1; depth < segments.length + (directory ? 1 : 0); depth++) {
      const ancestor = segments.slice(0, depth).join('/');
      if (files.has(ancestor))
        fail(`needs ${JSON.stringify(ancestor)} to be a directory, but the archive has it as a file`);
      directories.add(ancestor);
    }
    if (!directory) {
      if (files.has(path)) fail('appears twice in the archive');
      if (directories.has(path)) fail('is both a file and a directory in the archive');
      files.add(path);
    }

    declaredBytes += size;
    if (declaredBytes > archiveLimits.maxUnpackedBytes) {
      fail(`takes the archive past ${archiveLimits.maxUnpackedBytes / 1024 / 1024} MiB unpacked`);
    }
    if (localHeaderOffset + LOCAL_SIZE > directoryOffset) fail('points outside the archive');
    entries.push({ rawName, path, directory, method, crc, compressedSize, size, localHeaderOffset });
  }
  return entries;
}

/**
 * Unpacks every file, holding each to the size and checksum its directory
 * entry declares: inflating stops at the declared size, so a lying archive
 * costs no more than an honest one of the same declared size. onFile gets
 * each file's content; validating alone passes a no-op.
 */
export function unpackZip(archive: Buffer, onFile: (path: string, content: Buffer) => void): number {
  const entries = readZipEntries(archive);
  let unpacked = 0;
  for (const entry of entries) {
    if (entry.directory) continue;
    const fail = (reason: string): never => {
      throw new ArchiveError(reason, entry.rawName);
    };
    const local = entry.localHeaderOffset;
    if (archive.readUInt32LE(local) !== LOCAL_SIGNATURE) fail('has a damaged local header');
    const dataStart = local + LOCAL_SIZE + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28);
    const dataEnd = dataStart + entry.compressedSize;
    if (dataEnd > archive.length) fail('runs past the end of the archive');
    const data = archive.subarray(dataStart, dataEnd);
    let content: Buffer;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) fail('is stored uncompressed but declares two different sizes');
      content = data;
    } else {
      try {
        // One byte of room past the declared size tells "exactly" from "more".
        content = inflateRawSync(data, { maxOutputLength: entry.size + 1 });
      } catch (error) {
        const message = (error as Error).message;
        content = fail(
          /larger than|maxOutputLength|Cannot create a Buffer/i.test(message)
            ? `unpacks to more than the ${entry.size} bytes it declares`
            : `is not valid deflate data (${message})`,
        );
      }
    }
    if (content.length !== entry.size) fail(`declares ${entry.size} bytes but holds ${content.length}`);
    if (crc32(content) !== entry.crc) fail('fails its checksum');
    unpacked += content.length;
    onFile(entry.path, content);
  }
  return unpacked;
}

function findEndOfCentralDirectory(archive: Buffer): number {
  const lowest = Math.max(0, archive.length - EOCD_SIZE - 0xffff);
  for (let offset = archive.length - EOCD_SIZE; offset >= lowest; offset--) {
    if (archive.readUInt32LE(offset) === EOCD_SIGNATURE) return offset;
  }
  throw new ArchiveError('not a complete zip archive (no end of central directory)');
}

function decodeName(bytes: Buffer, index: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ArchiveError(`entry ${index + 1} has a name that is not UTF-8`);
  }
}

/**
 * A relative path with '/' separators, or a refusal: absolute paths, drive
 * letters, `..`, control characters, over-long names. Backslashes count as
 * separators, as Windows tools write them.
 */
function normalisePath(rawName: string, fail: (reason: string) => never): string {
  if (/[\u0000-\u001f\u007f]/.test(rawName)) fail('has a control character in its name');
  const name = rawName.replaceAll('\\', '/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) fail('is an absolute path');
  const segments = name.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) fail('leaves the archive\'s directory ("..")');
  for (const segment of segments) {
    if (Buffer.byteLength(segment) > archiveLimits.maxSegmentBytes) fail('has a name part longer than 255 bytes');
  }
  const path = segments.join('/');
  if (Buffer.byteLength(path) > archiveLimits.maxPathBytes)
    fail(`has a path longer than ${archiveLimits.maxPathBytes} bytes`);
  return path;
}
