import { constants, crc32, deflateRawSync } from 'node:zlib';

/** A zip archive of the given files, as users upload multi-module code. */
export function zip(files: Record<string, string>): Buffer {
  return rawZip(Object.entries(files).map(([name, text]) => ({ name, data: Buffer.from(text) })));
}

/** One entry of rawZip: by default an honest deflated file; every field can be made to lie. */
export interface RawZipEntry {
  name: string;
  /** The uncompressed content; compressed is derived from it unless given. */
  data?: Buffer;
  /** The bytes stored; when set, method defaults to deflate and size/crc must be given to be honest. */
  compressed?: Buffer;
  method?: number;
  /** Declared uncompressed size. */
  size?: number;
  crc?: number;
  /** st_mode of a Unix host (made-by 3), e.g. 0o120777 for a symlink. */
  unixMode?: number;
  flags?: number;
}

/**
 * Writes a zip archive byte by byte, so tests can build what real tools
 * would never write: lying sizes, symlinks, duplicate names, `..`.
 */
export function rawZip(entries: RawZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    const method = entry.method ?? (entry.name.endsWith('/') ? 0 : 8);
    const compressed = entry.compressed ?? (method === 8 ? deflateRawSync(data) : data);
    const size = entry.size ?? data.length;
    const crc = entry.crc ?? crc32(data);
    const name = Buffer.from(entry.name);
    const flags = (entry.flags ?? 0) | 0x800;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(entry.unixMode === undefined ? 20 : (3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((entry.unixMode ?? 0) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * Raw deflate data that inflates to `gib` GiB of zeros in about a
 * thousandth of that: one compressed 64 MiB block, repeated (each ends with
 * a full flush, so the copies are independent), then an empty final block.
 */
export function deflateBomb(gib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(64 * 1024 * 1024), { level: 9, finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array.from({ length: gib * 16 }, () => block), Buffer.from([0x03, 0x00])]);
}
