import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { useNova } from './support/fixture.js';
import { statusOf } from './support/grpc-status.js';
import { checkHealth } from './support/raw-grpc.js';
import { createRequest, invokeRequest } from './support/requests.js';
import { deflateBomb, rawZip, type RawZipEntry } from './support/zip.js';

const handler = { name: 'main.py', data: Buffer.from('def handler(event):\n    return event\n') };

/**
 * Code archives are hostile input: each is unpacked at CreateFunction and
 * UpdateFunctionCode, off the event loop, and refused with INVALID_ARGUMENT
 * naming the entry, instead of failing (or worse) at the first invoke.
 */
describe('hardening: code archives', () => {
  const fx = useNova();

  it('refuses an archive that lies about its size (8 MB of upload, 8 GiB of deflate) while health answers within 1 s', async () => {
    const bomb = rawZip([handler, { name: 'data/zeros.bin', compressed: deflateBomb(8), size: 1024, crc: 0 }]);
    assert.ok(bomb.length < 10 * 1024 * 1024, 'within the upload limit');

    const latencies: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const started = performance.now();
        const [standard, node] = await Promise.all([checkHealth(fx.nova.address), fx.dp.health({})]);
        latencies.push(performance.now() - started);
        assert.equal(standard.status, 'SERVING');
        assert.equal(node.status, 'healthy');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      const results = await Promise.all([
        statusOf(fx.cp.createFunction(createRequest({ name: 'bomb', code: bomb, handler: 'main.handler' }))),
        statusOf(
          fx.cp.createFunction(
            createRequest({
              name: 'big-claim',
              handler: 'main.handler',
              code: rawZip([handler, { name: 'huge.bin', compressed: Buffer.alloc(0), size: 0xfffffffe }]),
            }),
          ),
        ),
      ]);
      assert.equal(results[0].code, status.INVALID_ARGUMENT);
      assert.equal(
        results[0].details,
        'code: zip archive entry "data/zeros.bin": unpacks to more than the 1024 bytes it declares',
      );
      assert.equal(results[1].code, status.INVALID_ARGUMENT);
      assert.match(results[1].details, /entry "huge.bin": takes the archive past 250 MiB unpacked/);
    } finally {
      probing = false;
      await probe;
    }
    assert.ok(latencies.length > 0);
    assert.ok(Math.max(...latencies) < 1000, `health took up to ${Math.max(...latencies).toFixed(0)} ms`);
    assert.equal((await statusOf(fx.cp.getFunction({ name: 'bomb' }))).code, status.NOT_FOUND);
  });

  const refused: [string, RawZipEntry, RegExp][] = [
    ['absolute', { name: '/etc/cron.d/job', data: Buffer.from('x') }, /is an absolute path/],
    ['dotdot', { name: 'lib/../../outside.py', data: Buffer.from('x') }, /leaves the archive's directory/],
    ['symlink', { name: 'secrets', data: Buffer.from('/var/lib/nova'), unixMode: 0o120777 }, /symbolic link/],
    ['duplicate', handler, /appears twice/],
    ['clash', { name: 'main.py/inner.py', data: Buffer.from('x') }, /needs "main.py" to be a directory/],
  ];
  for (const [kind, entry, reason] of refused) {
    it(`refuses an archive with ${kind} at create and at code update, naming the entry`, async () => {
      const archive = rawZip([handler, entry]);
      const created = await statusOf(
        fx.cp.createFunction(createRequest({ name: `zip-${kind}`, handler: 'main.handler', code: archive })),
      );
      assert.equal(created.code, status.INVALID_ARGUMENT);
      assert.ok(created.details.startsWith(`code: zip archive entry ${JSON.stringify(entry.name)}: `), created.details);
      assert.match(created.details, reason);

      await fx.cp.createFunction(
        createRequest({ name: `zip-${kind}`, handler: 'main.handler', code: rawZip([handler]) }),
      );
      const updated = await statusOf(fx.cp.updateFunctionCode({ name: `zip-${kind}`, code: archive, handler: '' }));
      assert.equal(updated.code, status.INVALID_ARGUMENT);
      assert.match(updated.details, reason);
      const versions = await fx.cp.listFunctionVersions({ name: `zip-${kind}` });
      assert.equal(versions.versions.length, 1, 'the refused code made no version');
      const invoked = await fx.dp.invoke(invokeRequest(`zip-${kind}`, Buffer.from('{"ok":true}')));
      assert.equal(invoked.error, '');
      assert.deepEqual(JSON.parse(Buffer.from(invoked.output).toString()), { ok: true });
    });
  }
});
