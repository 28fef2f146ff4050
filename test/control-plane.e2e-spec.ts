import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import type { controlPlane } from '#proto';
import { useNova } from './support/fixture.js';
import { databaseUrlOf } from './support/database-url.js';
import { createRequest, helloPython, updateRequest } from './support/requests.js';

const code = helloPython;
const request = createRequest;

/** Asserts a gRPC failure with this code whose message names the field. */
async function rejectsWith(call: Promise<unknown>, code: status, mentions?: string): Promise<void> {
  await assert.rejects(call, (error: { code?: number; details?: string }) => {
    assert.equal(error.code, code, `expected ${status[code]}, got ${error.code} (${error.details})`);
    if (mentions) assert.match(error.details ?? '', new RegExp(`^${mentions}\\b`), `message should name ${mentions}`);
    return true;
  });
}

describe('nova.v1.ControlPlane (unified server, real Postgres)', () => {
  // Room on the node for the largest settings (two warm instances of 10 GiB), whatever this machine's RAM.
  // The server must exit cleanly on SIGTERM.
  const fx = useNova({ NOVA_MAX_MEMORY_MB: '32768' }, { checkCleanExit: true });

  describe('CreateFunction', () => {
    it('creates the seed example at version 1 with defaults filled in', async () => {
      const before = Date.now();
      const info = await fx.cp.createFunction(request({ name: 'hello-world', memoryMb: 128, timeoutS: 30 }));
      assert.equal(info.name, 'hello-world');
      assert.equal(info.runtime, 'python');
      assert.equal(info.handler, 'handler');
      assert.equal(info.version, 1);
      assert.equal(info.memoryMb, 128);
      assert.equal(info.timeoutS, 30);
      assert.equal(info.mode, 'process');
      assert.equal(info.maxReplicas, 10);
      assert.equal(info.minReplicas, 0);
      assert.equal(info.codeHash, createHash('sha256').update(code).digest('hex'));
      assert.match(info.id, /^[0-9a-f-]{36}$/);
      assert.match(info.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.ok(Date.parse(info.createdAt) >= before - 1000);
      assert.equal(info.createdAt, info.updatedAt);
    });

    it('treats 0 as the default memory and timeout', async () => {
      const info = await fx.cp.createFunction(request({ name: 'defaults' }));
      assert.equal(info.memoryMb, 128);
      assert.equal(info.timeoutS, 30);
    });

    it('keeps env vars, replicas and limits at their bounds', async () => {
      const info = await fx.cp.createFunction(
        request({
          name: 'bounds',
          runtime: 'node',
          handler: 'index.handler',
          memoryMb: 10240,
          timeoutS: 900,
          envVars: { GREETING: 'hi', _X1: '' },
          minReplicas: 2,
          maxReplicas: 3,
        }),
      );
      assert.deepEqual(info.envVars, { GREETING: 'hi', _X1: '' });
      assert.equal(info.memoryMb, 10240);
      assert.equal(info.timeoutS, 900);
      assert.equal(info.minReplicas, 2);
      assert.equal(info.maxReplicas, 3);
    });

    it('refuses a taken name with ALREADY_EXISTS', async () => {
      await fx.cp.createFunction(request({ name: 'taken' }));
      await rejectsWith(fx.cp.createFunction(request({ name: 'taken' })), status.ALREADY_EXISTS);
    });

    const invalid: [string, Partial<controlPlane.CreateFunctionRequest>, string][] = [
      ['an empty name', { name: '' }, 'name'],
      ['an uppercase name', { name: 'Hello' }, 'name'],
      ['a name starting with a digit', { name: '1abc' }, 'name'],
      ['a name starting with -', { name: '-abc' }, 'name'],
      ['a name ending with -', { name: 'abc-' }, 'name'],
      ['a name with _', { name: 'a_b' }, 'name'],
      ['a 64-character name', { name: 'a'.repeat(64) }, 'name'],
      ['an empty runtime', { runtime: '' }, 'runtime'],
      ['an unknown runtime', { runtime: 'cobol' }, 'runtime'],
      ['an empty handler', { handler: '' }, 'handler'],
      ['a malformed handler', { handler: 'a b' }, 'handler'],
      ['empty code', { code: Buffer.alloc(0) }, 'code'],
      ['code over 10 MiB', { code: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20) }, 'code'],
      ['memory below 128', { memoryMb: 127 }, 'memory_mb'],
      ['memory above 10240', { memoryMb: 10241 }, 'memory_mb'],
      ['negative memory', { memoryMb: -1 }, 'memory_mb'],
      ['a timeout above 900', { timeoutS: 901 }, 'timeout_s'],
      ['a negative timeout', { timeoutS: -5 }, 'timeout_s'],
      ['env vars over 4 KiB', { envVars: { BIG: 'x'.repeat(4094) } }, 'env_vars'],
      ['an env var name starting with a digit', { envVars: { '1A': 'x' } }, 'env_vars'],
      ['an env var name with -', { envVars: { 'A-B': 'x' } }, 'env_vars'],
      ['an env var starting with NOVA_', { envVars: { NOVA_SECRET: 'x' } }, 'env_vars'],
      ['an env var starting with nova_ in any case', { envVars: { Nova_x: 'x' } }, 'env_vars'],
      ['an unknown mode', { mode: 'thread' }, 'mode'],
      ['max_replicas above 1000', { maxReplicas: 1001 }, 'max_replicas'],
      ['min_replicas above max_replicas', { minReplicas: 5, maxReplicas: 2 }, 'min_replicas'],
      ['negative min_replicas', { minReplicas: -1 }, 'min_replicas'],
      // The node caps (NOVA_MAX_INSTANCES 200 by default): 1 006 processes and 7.4 GB once.
      ['max_replicas above the node cap', { minReplicas: 1000, maxReplicas: 1000 }, 'max_replicas'],
      [
        'min_replicas whose memory exceeds the node cap',
        { minReplicas: 4, maxReplicas: 4, memoryMb: 10_240 },
        'min_replicas',
      ],
    ];
    for (const [what, overrides, field] of invalid) {
      it(`refuses ${what} with INVALID_ARGUMENT naming ${field}`, async () => {
        await rejectsWith(
          fx.cp.createFunction(request({ name: 'invalid-fn', ...overrides })),
          status.INVALID_ARGUMENT,
          field,
        );
      });
    }

    it('stored none of the refused functions', async () => {
      for (const [, overrides] of invalid) {
        await fx.cp.createFunction(request({ name: 'invalid-fn', ...overrides })).catch(() => undefined);
      }
      await rejectsWith(fx.cp.getFunction({ name: 'invalid-fn' }), status.NOT_FOUND);
    });

    it('accepts env vars of exactly 4 KiB', async () => {
      const info = await fx.cp.createFunction(request({ name: 'env-4k', envVars: { BIG: 'x'.repeat(4093) } }));
      assert.equal(info.envVars['BIG']?.length, 4093);
    });
  });

  describe('GetFunction', () => {
    it('returns what was created', async () => {
      const created = await fx.cp.createFunction(request({ name: 'get-me', envVars: { A: '1' } }));
      assert.deepEqual(await fx.cp.getFunction({ name: 'get-me' }), created);
    });

    it('answers NOT_FOUND for an unknown function', async () => {
      await rejectsWith(fx.cp.getFunction({ name: 'no-such-function' }), status.NOT_FOUND);
    });

    it('answers INVALID_ARGUMENT for a malformed name', async () => {
      await rejectsWith(fx.cp.getFunction({ name: 'Not_Valid' }), status.INVALID_ARGUMENT, 'name');
    });
  });

  describe('ListFunctions', () => {
    it('pages through functions ordered by name with the total of all', async () => {
      const names = ['list-c', 'list-a', 'list-b'];
      for (const name of names) await fx.cp.createFunction(request({ name }));
      const all = await fx.cp.listFunctions({ limit: 1000, offset: 0 });
      const sorted = all.functions.map((fn) => fn.name);
      assert.deepEqual(sorted, [...sorted].sort());
      assert.equal(all.total, all.functions.length);
      const start = sorted.indexOf('list-a');
      const page = await fx.cp.listFunctions({ limit: 2, offset: start });
      assert.deepEqual(
        page.functions.map((fn) => fn.name),
        ['list-a', 'list-b'],
      );
      assert.equal(page.total, all.total, 'total counts all functions, not the page');
    });

    it('returns at most 100 when no limit is given', async () => {
      await Promise.all(
        Array.from({ length: 101 }, (_, i) =>
          fx.cp.createFunction(request({ name: `many-${String(i).padStart(3, '0')}` })),
        ),
      );
      const page = await fx.cp.listFunctions({ limit: 0, offset: 0 });
      assert.equal(page.functions.length, 100);
      assert.ok(page.total > 100);
      const rest = await fx.cp.listFunctions({ limit: 0, offset: 100 });
      assert.equal(rest.functions.length, page.total - 100);
    });

    it('refuses a limit above 1000 and a negative offset or limit', async () => {
      await rejectsWith(fx.cp.listFunctions({ limit: 1001, offset: 0 }), status.INVALID_ARGUMENT, 'limit');
      await rejectsWith(fx.cp.listFunctions({ limit: -1, offset: 0 }), status.INVALID_ARGUMENT, 'limit');
      await rejectsWith(fx.cp.listFunctions({ limit: 10, offset: -1 }), status.INVALID_ARGUMENT, 'offset');
    });
  });

  describe('UpdateFunction', () => {
    /** Creates a function of its own for one test; its update() changes that function. */
    const updatable = async (
      name: string,
      settings: Partial<controlPlane.CreateFunctionRequest>,
    ): Promise<(overrides: Partial<controlPlane.UpdateFunctionRequest>) => controlPlane.UpdateFunctionRequest> => {
      await fx.cp.createFunction(request({ name, ...settings }));
      return (overrides) => updateRequest(name, overrides);
    };
    const original = { envVars: { KEEP: 'me' }, minReplicas: 1, maxReplicas: 4 };

    it('changes only the fields that are set', async () => {
      const update = await updatable('upd', original);
      const info = await fx.cp.updateFunction(update({ memoryMb: 512 }));
      assert.equal(info.memoryMb, 512);
      assert.equal(info.timeoutS, 30);
      assert.deepEqual(info.envVars, { KEEP: 'me' });
      assert.equal(info.minReplicas, 1);
      assert.equal(info.maxReplicas, 4);
      assert.equal(info.version, 1, 'a settings change is not a new code version');
      assert.ok(Date.parse(info.updatedAt) >= Date.parse(info.createdAt));
      const again = await fx.cp.updateFunction(
        update({ timeoutS: 60, envVars: { NEW: 'x' }, maxReplicas: 8, minReplicas: 3 }),
      );
      assert.equal(again.memoryMb, 512);
      assert.equal(again.timeoutS, 60);
      assert.deepEqual(again.envVars, { NEW: 'x' });
      assert.equal(again.minReplicas, 3);
      assert.equal(again.maxReplicas, 8);
      assert.deepEqual(await fx.cp.getFunction({ name: 'upd' }), again);
    });

    it('applies defaults named in update_mask: clears env vars, sets min_replicas to 0', async () => {
      const update = await updatable('upd-mask', {
        timeoutS: 60,
        envVars: { NEW: 'x' },
        minReplicas: 3,
        maxReplicas: 8,
      });
      const info = await fx.cp.updateFunction(update({ updateMask: ['env_vars', 'minReplicas'] }));
      assert.deepEqual(info.envVars, {});
      assert.equal(info.minReplicas, 0);
      assert.equal(info.timeoutS, 60, 'fields not named stay');
    });

    it('validates like CreateFunction', async () => {
      const update = await updatable('upd-rules', original);
      await rejectsWith(fx.cp.updateFunction(update({ memoryMb: 64 })), status.INVALID_ARGUMENT, 'memory_mb');
      await rejectsWith(fx.cp.updateFunction(update({ timeoutS: 1000 })), status.INVALID_ARGUMENT, 'timeout_s');
      await rejectsWith(
        fx.cp.updateFunction(update({ envVars: { NOVA_X: '1' } })),
        status.INVALID_ARGUMENT,
        'env_vars',
      );
      await rejectsWith(fx.cp.updateFunction(update({ maxReplicas: 5000 })), status.INVALID_ARGUMENT, 'max_replicas');
      await rejectsWith(
        fx.cp.updateFunction(update({ updateMask: ['runtime'] })),
        status.INVALID_ARGUMENT,
        'update_mask',
      );
      await rejectsWith(fx.cp.updateFunction(update({ handler: 'not a handler' })), status.INVALID_ARGUMENT, 'handler');
      await rejectsWith(fx.cp.updateFunction(update({ updateMask: ['handler'] })), status.INVALID_ARGUMENT, 'handler');
    });

    it('refuses min_replicas above max_replicas, set now or already stored', async () => {
      const update = await updatable('upd-replicas', { minReplicas: 0, maxReplicas: 8 });
      await rejectsWith(fx.cp.updateFunction(update({ minReplicas: 9 })), status.INVALID_ARGUMENT, 'min_replicas');
      await rejectsWith(
        fx.cp.updateFunction(update({ maxReplicas: 2, minReplicas: 3 })),
        status.INVALID_ARGUMENT,
        'min_replicas',
      );
      await fx.cp.updateFunction(update({ minReplicas: 2 }));
      await rejectsWith(fx.cp.updateFunction(update({ maxReplicas: 1 })), status.INVALID_ARGUMENT, 'min_replicas');
      assert.equal(
        (await fx.cp.getFunction({ name: 'upd-replicas' })).maxReplicas,
        8,
        'a refused update changes nothing',
      );
    });

    it('answers NOT_FOUND for an unknown function', async () => {
      await rejectsWith(fx.cp.updateFunction(updateRequest('nobody', { memoryMb: 256 })), status.NOT_FOUND);
    });
  });

  describe('UpdateFunctionCode', () => {
    it('stores each upload as the next immutable version and keeps the earlier ones', async () => {
      const v1 = await fx.cp.createFunction(request({ name: 'versions' }));
      const code2 = Buffer.from('def handler(event): return 2\n');
      const code3 = Buffer.from('def handler(event): return 3\n');
      const r2 = await fx.cp.updateFunctionCode({ name: 'versions', code: code2, handler: '' });
      assert.deepEqual(r2, {
        success: true,
        codeHash: createHash('sha256').update(code2).digest('hex'),
        version: 2,
        unchanged: false,
      });
      const r3 = await fx.cp.updateFunctionCode({ name: 'versions', code: code3, handler: '' });
      assert.equal(r3.version, 3);
      const info = await fx.cp.getFunction({ name: 'versions' });
      assert.equal(info.version, 3);
      assert.equal(info.codeHash, r3.codeHash);
      const { versions } = await fx.cp.listFunctionVersions({ name: 'versions' });
      assert.deepEqual(
        versions.map((v) => [v.version, v.codeHash, v.sizeBytes]),
        [
          [1, v1.codeHash, code.length],
          [2, r2.codeHash, code2.length],
          [3, r3.codeHash, code3.length],
        ],
      );
    });

    it('refuses empty or oversized code and unknown functions', async () => {
      await fx.cp.createFunction(request({ name: 'versions-refused' }));
      await rejectsWith(
        fx.cp.updateFunctionCode({ name: 'versions-refused', code: Buffer.alloc(0), handler: '' }),
        status.INVALID_ARGUMENT,
        'code',
      );
      await rejectsWith(
        fx.cp.updateFunctionCode({
          name: 'versions-refused',
          code: Buffer.alloc(10 * 1024 * 1024 + 1, 0x20),
          handler: '',
        }),
        status.INVALID_ARGUMENT,
        'code',
      );
      await rejectsWith(fx.cp.updateFunctionCode({ name: 'ghost', code, handler: '' }), status.NOT_FOUND);
      await rejectsWith(fx.cp.listFunctionVersions({ name: 'ghost' }), status.NOT_FOUND);
    });
  });

  describe('DeleteFunction', () => {
    it('removes the function and its versions', async () => {
      await fx.cp.createFunction(request({ name: 'doomed' }));
      await fx.cp.updateFunctionCode({ name: 'doomed', code: Buffer.from('def handler(e): return 0\n'), handler: '' });
      assert.deepEqual(await fx.cp.deleteFunction({ name: 'doomed' }), { success: true });
      await rejectsWith(fx.cp.getFunction({ name: 'doomed' }), status.NOT_FOUND);
      await rejectsWith(fx.cp.listFunctionVersions({ name: 'doomed' }), status.NOT_FOUND);
      await rejectsWith(fx.cp.deleteFunction({ name: 'doomed' }), status.NOT_FOUND);
    });

    it('keeps code that another function still uses', async () => {
      await fx.cp.createFunction(request({ name: 'shares-a' }));
      await fx.cp.createFunction(request({ name: 'shares-b' }));
      await fx.cp.deleteFunction({ name: 'shares-a' });
      const { versions } = await fx.cp.listFunctionVersions({ name: 'shares-b' });
      assert.equal(versions[0]?.sizeBytes, code.length);
    });
  });

  describe('ListRuntimes', () => {
    it('lists exactly the probed python, node and wasm with their real versions', async () => {
      const { runtimes } = await fx.cp.listRuntimes({});
      const byId = new Map(runtimes.map((runtime) => [runtime.id, runtime]));
      assert.deepEqual([...byId.keys()].sort(), ['node', 'python', 'wasm']);
      assert.equal(byId.get('node')?.version, process.versions.node);
      assert.equal(byId.get('node')?.entrypoint[0], process.execPath);
      const python = byId.get('python');
      const executable = python?.entrypoint[0] ?? '';
      assert.ok(executable.startsWith('/'), 'python is resolved to an absolute executable');
      const reported = execFileSync(executable, ['-c', 'import platform; print(platform.python_version())'])
        .toString()
        .trim();
      assert.equal(python?.version, reported, 'the version is that of the executable it will run');
      for (const runtime of runtimes) assert.ok(runtime.name.length > 0);
    });
  });

  describe('change notifications', () => {
    it('sends a NOTIFY on nova_functions for every write', async () => {
      const listener = new pg.Client({ connectionString: await databaseUrlOf(fx.database) });
      await listener.connect();
      const heard: { op: string; name: string; version: number }[] = [];
      listener.on('notification', (message) =>
        heard.push(JSON.parse(message.payload ?? '{}') as (typeof heard)[number]),
      );
      await listener.query('LISTEN nova_functions');
      try {
        await fx.cp.createFunction(request({ name: 'noisy' }));
        await fx.cp.updateFunction(updateRequest('noisy', { memoryMb: 256 }));
        await fx.cp.updateFunctionCode({ name: 'noisy', code: Buffer.from('def handler(e): return 1\n'), handler: '' });
        await fx.cp.deleteFunction({ name: 'noisy' });
        const deadline = Date.now() + 5000;
        while (heard.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(heard, [
          { op: 'created', name: 'noisy', version: 1 },
          { op: 'updated', name: 'noisy', version: 1 },
          { op: 'code_updated', name: 'noisy', version: 2 },
          { op: 'deleted', name: 'noisy', version: 2 },
        ]);
      } finally {
        await listener.end();
      }
    });
  });
});
