import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { deflateBomb, rawZip, zip, type RawZipEntry } from '../../../../test/support/zip.js';
import { unpackArchive } from './unpack-archive.js';
import { ArchiveError, archiveLimits, isZip, unpackZip } from './zip-archive.js';

function unpack(archive: Buffer): Map<string, string> {
  const files = new Map<string, string>();
  unpackZip(archive, (path, content) => files.set(path, content.toString()));
  return files;
}

function refusal(entries: RawZipEntry[]): ArchiveError {
  try {
    unpack(rawZip(entries));
  } catch (error) {
    assert.ok(error instanceof ArchiveError, `an ArchiveError, not ${String(error)}`);
    return error;
  }
  assert.fail('the archive was accepted');
}

const file = (name: string, text = 'x'): RawZipEntry => ({ name, data: Buffer.from(text) });

describe('zip archives of function code', () => {
  it('unpacks files by their normalised paths, directories left out', () => {
    const archive = zip({ 'main.py': 'a = 1', 'pkg/mod.py': 'b = 2', './pkg/sub//deep.py': 'c' });
    assert.ok(isZip(archive));
    assert.deepEqual([...unpack(archive)].sort(), [
      ['main.py', 'a = 1'],
      ['pkg/mod.py', 'b = 2'],
      ['pkg/sub/deep.py', 'c'],
    ]);
    assert.deepEqual(
      [...unpack(rawZip([{ name: 'pkg/' }, file('pkg/a.py'), { name: 'win\\path.py', data: Buffer.from('w') }]))],
      [
        ['pkg/a.py', 'x'],
        ['win/path.py', 'w'],
      ],
    );
  });

  it('refuses names that leave the code directory, naming the entry', () => {
    const cases: [string, RegExp][] = [
      ['/etc/cron.d/x', /is an absolute path/],
      ['C:/Windows/x', /is an absolute path/],
      ['../escape.py', /leaves the archive's directory/],
      ['pkg/../../escape.py', /leaves the archive's directory/],
      ['..\\escape.py', /leaves the archive's directory/],
      ['bad\u0000name', /control character/],
      [`${'a'.repeat(256)}.py`, /longer than 255 bytes/],
    ];
    for (const [name, reason] of cases) {
      const error = refusal([file('ok.py'), file(name)]);
      assert.equal(error.entry, name);
      assert.match(error.message, reason, name);
      assert.ok(error.message.startsWith(`entry ${JSON.stringify(name.slice(0, 200))}`));
    }
  });

  it('refuses links, devices, clashes, encryption and unknown compression', () => {
    const cases: [RawZipEntry[], string, RegExp][] = [
      [[{ name: 'link', data: Buffer.from('/etc/shadow'), unixMode: 0o120777 }], 'link', /symbolic link/],
      [[{ name: 'dev', unixMode: 0o020666 }], 'dev', /not a regular file or directory/],
      [[file('a.py'), file('a.py')], 'a.py', /appears twice/],
      [[file('a.py'), file('./a.py')], './a.py', /appears twice/],
      [[file('pkg'), file('pkg/mod.py')], 'pkg/mod.py', /needs "pkg" to be a directory/],
      [[file('pkg/mod.py'), file('pkg')], 'pkg', /both a file and a directory/],
      [[file('pkg'), { name: 'pkg/' }], 'pkg/', /needs "pkg" to be a directory/],
      [[{ ...file('secret.py'), flags: 1 }], 'secret.py', /encrypted/],
      [[{ ...file('b.py'), method: 12 }], 'b.py', /compression method 12/],
    ];
    for (const [entries, entry, reason] of cases) {
      const error = refusal(entries);
      assert.equal(error.entry, entry);
      assert.match(error.message, reason, entry);
    }
  });

  it('holds every entry to the size and checksum it declares', () => {
    const bomb = refusal([{ name: 'bomb.bin', compressed: deflateBomb(1), size: 1000, crc: 0 }]);
    assert.match(bomb.message, /unpacks to more than the 1000 bytes it declares/);
    assert.match(refusal([{ ...file('short.py', 'abc'), size: 10 }]).message, /declares 10 bytes but holds 3/);
    assert.match(refusal([{ ...file('bad.py', 'abc'), crc: 1 }]).message, /fails its checksum/);
    assert.match(
      refusal([{ name: 'stored.py', data: Buffer.from('abc'), method: 0, size: 5 }]).message,
      /declares two different sizes/,
    );
    assert.match(
      refusal([{ name: 'junk.py', compressed: Buffer.from([0xff, 0xff]), size: 3 }]).message,
      /not valid deflate/,
    );
  });

  it('stops at its limits before unpacking anything', () => {
    const many = Array.from({ length: archiveLimits.maxEntries + 1 }, (_, i) => ({ name: `f${i}` }));
    assert.match(refusal(many).message, /has 10001 entries; at most 10000/);
    const big = 200 * 1024 * 1024;
    const error = refusal([
      { name: 'one.bin', compressed: Buffer.alloc(0), size: big },
      { name: 'two.bin', compressed: Buffer.alloc(0), size: big },
    ]);
    assert.equal(error.entry, 'two.bin');
    assert.match(error.message, /past 250 MiB unpacked/);
  });

  it('refuses truncated and mutated archives with an ArchiveError, never anything else', () => {
    const archive = zip({ 'main.py': 'def handler(event):\n    return event\n', 'pkg/mod.py': 'x = 1\n' });
    assert.throws(() => unpack(archive.subarray(0, archive.length - 5)), ArchiveError);
    assert.throws(() => unpack(Buffer.from('PK\u0003\u0004 not really')), /not a complete zip archive/);
    for (let round = 0; round < 3000; round++) {
      const mutated = Buffer.from(archive);
      for (let flips = randomInt(1, 6); flips > 0; flips--) mutated[randomInt(mutated.length)] = randomInt(256);
      try {
        unpack(mutated);
      } catch (error) {
        assert.ok(error instanceof ArchiveError, `round ${round}: ${String(error)}`);
      }
    }
  });
});

describe('unpackArchive (worker thread)', () => {
  it('returns the files, or the refusal with its entry', async () => {
    const files = await unpackArchive(zip({ 'a.py': 'A', 'pkg/b.py': 'B' }), { keepContents: true });
    assert.deepEqual([...files].map(([path, content]) => [path, Buffer.from(content).toString()]).sort(), [
      ['a.py', 'A'],
      ['pkg/b.py', 'B'],
    ]);
    const validated = await unpackArchive(zip({ 'a.py': 'A' }), { keepContents: false });
    assert.deepEqual(
      [...validated].map(([path, content]) => [path, content.length]),
      [['a.py', 0]],
    );
    await assert.rejects(unpackArchive(rawZip([file('../x.py')]), { keepContents: false }), {
      name: 'ArchiveError',
      entry: '../x.py',
    });
  });

  it('gives up on an archive that takes longer than its time budget', async () => {
    const slow = rawZip([{ name: 'zeros.bin', data: Buffer.alloc(200 * 1024 * 1024) }]);
    await assert.rejects(unpackArchive(slow, { keepContents: false, timeBudgetMs: 1 }), /took longer than 0.001 s/);
  });
});
