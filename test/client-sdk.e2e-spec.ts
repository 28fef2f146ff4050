import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  AlreadyExistsError,
  ConflictError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  Nova,
  NovaError,
  Statehouse,
  TransactionError,
} from '#client';
import { useNova } from './support/fixture.js';

// Issue 10, item 3: the TypeScript SDK's clients against a real server.
describe('TypeScript SDK', () => {
  const fx = useNova();

  describe('Statehouse', () => {
    let sh: Statehouse;

    before(() => {
      sh = new Statehouse({ address: fx.nova.address });
    });
    after(() => sh.close());

    it('answers health and version', async () => {
      assert.equal(await sh.health(), 'ok');
      assert.match((await sh.version()).version, /^\d+\.\d+\.\d+/);
    });

    it('stages, commits and reads back: latest, by version, keys, prefixes; a missing version is NotFoundError', async () => {
      const tx = await sh.transaction();
      await tx.write('sdk', 'profile', { name: 'Ada' });
      await tx.write('sdk', 'pref/a', { on: true });
      const first = await tx.commit();
      await assert.rejects(
        tx.commit(),
        (error) => error instanceof TransactionError && /already committed/.test(error.message),
      );
      const second = await sh.transaction();
      await second.write('sdk', 'profile', { name: 'Ada L.' });
      await second.delete('sdk', 'pref/a');
      const ts = await second.commit();
      assert.ok(ts > first);

      assert.deepEqual(await sh.getState('sdk', 'profile'), {
        value: { name: 'Ada L.' },
        version: 2,
        commitTs: ts,
        exists: true,
      });
      assert.deepEqual((await sh.getStateAtVersion('sdk', 'profile', 1)).value, { name: 'Ada' });
      await assert.rejects(sh.getStateAtVersion('sdk', 'profile', 9), (error) => {
        assert.ok(error instanceof NotFoundError);
        assert.equal(error.code, 'NOT_FOUND');
        return true;
      });
      assert.equal((await sh.getState('sdk', 'pref/a')).exists, false);
      assert.deepEqual(await sh.listKeys('sdk'), ['profile']);
      assert.deepEqual(
        (await sh.scanPrefix('sdk', 'pro')).map((entry) => [entry.key, entry.value, entry.version]),
        [['profile', { name: 'Ada L.' }, 2]],
      );
      // Another namespace is another key space.
      assert.deepEqual(await sh.listKeys('sdk', { namespace: 'other' }), []);
    });

    it('maps failures to typed errors with the status name', async () => {
      const expired = await sh.transaction({ timeoutMs: 50 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await assert.rejects(expired.write('sdk', 'k', {}), (error) => {
        assert.ok(error instanceof TransactionError);
        assert.equal(error.code, 'DEADLINE_EXCEEDED');
        return true;
      });
      const aborted = await sh.transaction();
      await aborted.write('sdk', 'never', { n: 1 });
      await aborted.abort();
      await aborted.abort();
      assert.equal((await sh.getState('sdk', 'never')).exists, false);
      await assert.rejects(
        sh.getState('', 'k'),
        (error) => error instanceof InvalidArgumentError && /agent_id/.test(error.message),
      );
      await assert.rejects(sh.transaction({ timeoutMs: 11 * 60 * 1000 }), InvalidArgumentError);
      const offline = new Statehouse({ address: '127.0.0.1:1' });
      await assert.rejects(offline.health(), ConnectionError);
      offline.close();
    });

    it('runs a callback transaction: commits on success, aborts on a throw, re-runs on a conflict', async () => {
      const { result, commitTs } = await sh.transaction(async (tx) => {
        await tx.write('sdk-cb', 'k', { n: 1 });
        return 'done';
      });
      assert.equal(result, 'done');
      assert.equal((await sh.getState('sdk-cb', 'k')).commitTs, commitTs);

      await assert.rejects(
        sh.transaction(async (tx) => {
          await tx.write('sdk-cb', 'k', { n: 99 });
          throw new Error('changed my mind');
        }),
        /changed my mind/,
      );
      assert.deepEqual((await sh.getState('sdk-cb', 'k')).value, { n: 1 });

      // Eight concurrent increments through expected versions lose none.
      const increment = () =>
        sh.transaction(
          async (tx) => {
            const current = await sh.getState('sdk-cb', 'counter');
            const n = current.exists ? (current.value!['n'] as number) : 0;
            await tx.write('sdk-cb', 'counter', { n: n + 1 }, { expectedVersion: current.version });
          },
          { retries: 50 },
        );
      await Promise.all(Array.from({ length: 8 }, increment));
      assert.deepEqual((await sh.getState('sdk-cb', 'counter')).value, { n: 8 });

      // Without retries the conflict reaches the caller, as a TransactionError too.
      await assert.rejects(
        sh.transaction(async (tx) => tx.write('sdk-cb', 'counter', { n: 0 }, { expectedVersion: 1 }), { retries: 0 }),
        (error) => {
          assert.ok(error instanceof ConflictError && error instanceof TransactionError && error instanceof NovaError);
          assert.equal(error.code, 'ABORTED');
          return true;
        },
      );
    });

    it('replays as an async iterator: a range, follow until the loop breaks, and a signal', async () => {
      const stamps: number[] = [];
      for (let i = 0; i < 4; i++) {
        stamps.push((await sh.transaction(async (tx) => tx.write('sdk-replay', `k${i}`, { i }))).commitTs);
      }
      const ranged = [];
      for await (const event of sh.replay('sdk-replay', { startTs: stamps[1], endTs: stamps[2] })) ranged.push(event);
      assert.deepEqual(
        ranged.map((event) => [event.commitTs, event.operations.map((op) => [op.key, op.value, op.version])]),
        [
          [stamps[1], [['k1', { i: 1 }, 1]]],
          [stamps[2], [['k2', { i: 2 }, 1]]],
        ],
      );

      const followed: number[] = [];
      const later = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return (await sh.transaction(async (tx) => tx.delete('sdk-replay', 'k0'))).commitTs;
      })();
      for await (const event of sh.replay('sdk-replay', { follow: true })) {
        followed.push(event.commitTs);
        if (followed.length === 5) {
          assert.equal(event.operations[0]!.value, undefined, 'a delete has no value');
          break;
        }
      }
      assert.deepEqual(followed, [...stamps, await later]);

      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const seen = [];
      for await (const event of sh.replay('sdk-replay', { follow: true, signal: controller.signal })) seen.push(event);
      assert.equal(seen.length, 5, 'the history, then the stream ended quietly at the abort');
    });
  });

  describe('Nova: functions and invocations', () => {
    let nova: Nova;
    const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

    before(() => {
      nova = new Nova({ address: fx.nova.address });
    });
    after(() => nova.close());

    it('manages a function: create, get, list, update with defaults restored, code versions, aliases, delete', async () => {
      const code = Buffer.from(
        "import os\ndef handler(event):\n    return {'hi': event.get('name'), 'a': os.environ.get('A')}\n",
      );
      const created = await nova.createFunction({
        name: 'sdk-fn',
        runtime: 'python',
        handler: 'handler',
        code,
        memoryMb: 256,
        envVars: { A: '1' },
      });
      assert.equal(created.version, 1);
      assert.equal(created.memoryMb, 256);
      assert.equal(created.timeoutS, 30, 'unset settings take their defaults');
      assert.deepEqual((await nova.getFunction('sdk-fn')).envVars, { A: '1' });
      const page = await nova.listFunctions({ limit: 1000 });
      assert.ok(page.functions.some((fn) => fn.name === 'sdk-fn'));
      assert.equal(page.total, page.functions.length);

      const updated = await nova.updateFunction('sdk-fn', { timeoutS: 5 });
      assert.deepEqual(
        [updated.timeoutS, updated.memoryMb, updated.envVars],
        [5, 256, { A: '1' }],
        'only what is given',
      );
      const reset = await nova.updateFunction('sdk-fn', { memoryMb: 0, envVars: {} });
      assert.deepEqual([reset.memoryMb, reset.envVars, reset.timeoutS], [128, {}, 5], '0 and {} restore defaults');

      assert.deepEqual(await nova.updateFunctionCode('sdk-fn', code), {
        version: 1,
        codeHash: created.codeHash,
        unchanged: true,
      });
      const second = await nova.updateFunctionCode('sdk-fn', Buffer.concat([code, Buffer.from('# v2\n')]));
      assert.deepEqual([second.version, second.unchanged], [2, false]);
      const alias = await nova.setAlias('sdk-fn', 'prod', { version: 1, canaryVersion: 2, canaryWeight: 10 });
      assert.deepEqual([alias.version, alias.canaryVersion, alias.canaryWeight], [1, 2, 10]);
      assert.deepEqual(
        // The canary's version is served by the alias too.
        (await nova.listFunctionVersions('sdk-fn')).map((v) => [v.version, v.aliases]),
        [
          [1, ['prod']],
          [2, ['prod']],
        ],
      );
      assert.deepEqual(
        (await nova.listAliases('sdk-fn')).map((a) => a.name),
        ['prod'],
      );
      await nova.deleteAlias('sdk-fn', 'prod');
      assert.deepEqual(await nova.listAliases('sdk-fn'), []);

      await assert.rejects(
        nova.createFunction({ name: 'sdk-fn', runtime: 'python', handler: 'handler', code }),
        (error) => error instanceof AlreadyExistsError && error.code === 'ALREADY_EXISTS',
      );
      await assert.rejects(
        nova.createFunction({ name: 'sdk-big', runtime: 'python', handler: 'handler', code, memoryMb: 1 << 20 }),
        (error) => error instanceof InvalidArgumentError && /memory_mb/.test(error.message),
      );
      const runtimes = (await nova.runtimes()).map((runtime) => runtime.id);
      assert.ok(runtimes.includes('python') && runtimes.includes('node'), runtimes.join());

      await nova.deleteFunction('sdk-fn');
      await assert.rejects(nova.getFunction('sdk-fn'), NotFoundError);
      await assert.rejects(nova.deleteFunction('sdk-fn'), NotFoundError);
    });

    it('invokes: JSON or bytes in, a handler error as a result, a log on request; async with waiting; a stream', async () => {
      await nova.createFunction({
        name: 'sdk-run',
        runtime: 'python',
        handler: 'handler',
        code: Buffer.from(
          "def handler(event):\n    print('got', event)\n    if event.get('fail'):\n        raise ValueError('asked to')\n    return {'echo': event}\n",
        ),
      });
      const result = await nova.invoke('sdk-run', { n: 1 }, { includeLog: true });
      assert.deepEqual(JSON.parse(text(result.output)), { echo: { n: 1 } });
      assert.equal(result.error, '');
      assert.match(result.log, /got \{'n': 1\}/);
      assert.equal(result.version, 1);
      const bytes = await nova.invoke('sdk-run', Buffer.from('{"raw": true}'));
      assert.deepEqual(JSON.parse(text(bytes.output)), { echo: { raw: true } });
      const failed = await nova.invoke('sdk-run', { fail: true });
      assert.match(failed.error, /ValueError: asked to/);
      assert.equal(failed.log, '', 'no log unless asked for');
      await assert.rejects(nova.invoke('sdk-missing', {}), NotFoundError);

      const queued = await nova.invokeAsync('sdk-run', { n: 2 }, { idempotencyKey: 'sdk-once' });
      assert.equal(
        (await nova.invokeAsync('sdk-run', { n: 3 }, { idempotencyKey: 'sdk-once' })).invocationId,
        queued.invocationId,
      );
      const seen: string[] = [];
      const finished = await nova.waitForInvocation(queued.invocationId, {
        intervalMs: 50,
        onProgress: (invocation) => seen.push(invocation.status),
      });
      assert.equal(finished.status, 'succeeded');
      assert.equal(seen.at(-1), 'succeeded');
      assert.deepEqual(JSON.parse(text(finished.output)), { echo: { n: 2 } });
      assert.equal((await nova.getInvocation(queued.invocationId)).kind, 'async');
      await assert.rejects(nova.getInvocation('00000000-0000-4000-8000-000000000000'), NotFoundError);

      const listed = await nova.listInvocations({ function: 'sdk-run' });
      assert.equal(listed.total, 4);
      assert.ok(listed.invocations.every((invocation) => invocation.functionName === 'sdk-run'));
      assert.equal((await nova.listInvocations({ function: 'sdk-run', status: 'failed' })).total, 1);
      const metrics = await nova.getMetrics('sdk-run');
      assert.deepEqual([metrics.totalInvocations, metrics.failedInvocations], [4, 1]);

      await nova.createFunction({
        name: 'sdk-stream',
        runtime: 'node',
        handler: 'handler',
        code: Buffer.from(
          'exports.handler = async function* (event) { for (let i = 0; i < event.n; i++) yield { i }; };\n',
        ),
      });
      const chunks = [];
      for await (const chunk of nova.invokeStream('sdk-stream', { n: 3 })) chunks.push(chunk);
      assert.deepEqual(
        chunks.filter((chunk) => !chunk.final).map((chunk) => JSON.parse(text(chunk.data)) as unknown),
        [{ i: 0 }, { i: 1 }, { i: 2 }],
      );
      assert.deepEqual([chunks.at(-1)!.final, chunks.at(-1)!.error], [true, '']);
    });

    it('follows logs as an async iterator until the loop breaks, or quietly ends at the signal', async () => {
      await nova.createFunction({
        name: 'sdk-logs',
        runtime: 'node',
        handler: 'handler',
        code: Buffer.from("exports.handler = async (event) => { console.log('log', event.i); return event; };\n"),
      });
      let started!: () => void;
      const following = new Promise<void>((resolve) => (started = resolve));
      const invoked = following.then(() => nova.invoke('sdk-logs', { i: 7 }));
      for await (const invocation of nova.followLogs({ function: 'sdk-logs', onStarted: started })) {
        assert.equal(invocation.functionName, 'sdk-logs');
        assert.match(invocation.log, /log 7/);
        break;
      }
      assert.deepEqual(JSON.parse(text((await invoked).output)), { i: 7 });

      const stop = new AbortController();
      setTimeout(() => stop.abort(), 200);
      const seen = [];
      for await (const invocation of nova.followLogs({ function: 'sdk-logs', signal: stop.signal }))
        seen.push(invocation);
      assert.deepEqual(seen, []);
    });
  });
});
