import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { isZip, unzipCode } from './unzip.js';

describe('unzipCode', () => {
  it('returns the files of an archive, directories left out', () => {
    const archive = zipSync({
      'pkg/': new Uint8Array(0),
      'pkg/mod.py': Buffer.from('x = 1\n'),
      'main.py': Buffer.from('y'),
    });
    assert.ok(isZip(archive));
    const files = unzipCode(archive);
    assert.deepEqual([...files.keys()].sort(), ['main.py', 'pkg/mod.py']);
    assert.equal(Buffer.from(files.get('pkg/mod.py')!).toString(), 'x = 1\n');
  });

  it('refuses paths that leave the code directory', () => {
    for (const name of ['../escape.py', 'pkg/../../escape.py', '/etc/cron.d/x']) {
      assert.throws(() => unzipCode(zipSync({ [name]: Buffer.from('x') })), /leaves its directory/, name);
    }
  });

  it('tells source from archives', () => {
    assert.ok(!isZip(Buffer.from('def handler(e): pass')));
    assert.ok(!isZip(Buffer.from('PK')));
  });
});
