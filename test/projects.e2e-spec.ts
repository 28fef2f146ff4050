import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli, type CliResult } from './support/nova-process.js';
import { useNova } from './support/fixture.js';

// Issue 9, item 7: `nova init NAME --runtime python|node` writes a handler,
// a nova.yaml and a test event that work as written; `nova apply` deploys it.
describe('nova init and nova apply', () => {
  const fx = useNova();
  let env: Record<string, string>;
  let dir: string;

  const cli = async (args: string[]): Promise<CliResult> => {
    const result = await runCli(args, env);
    assert.equal(result.code, 0, `nova ${args.join(' ')}: ${result.stderr}`);
    return result;
  };

  before(() => {
    env = { NOVA_ADDR: fx.nova.address };
    dir = fx.database.dataDir;
  });

  for (const runtime of ['python', 'node'] as const) {
    it(`a ${runtime} project from nova init deploys and answers its test event`, async () => {
      const name = `init-${runtime}`;
      const folder = join(dir, name);
      const init = await cli(['init', name, '--runtime', runtime, '--dir', folder]);
      assert.match(init.stdout, new RegExp(`next: cd \\S+ && nova apply && nova invoke ${name} @event.json`));
      const applied = await cli(['apply', folder]);
      assert.equal(applied.stdout, `created ${name} (version 1)\n`);
      const invoked = await cli(['invoke', name, `@${join(folder, 'event.json')}`, '--tail']);
      assert.deepEqual(JSON.parse(invoked.stdout), { message: 'Hello, Nova!' });
      assert.match(invoked.stderr, /greeting Nova in request [0-9a-f-]{36}/);

      // Applying again changes nothing: the zip is the same bytes for the same files.
      assert.equal((await cli(['apply', folder])).stdout, `unchanged ${name} (version 1)\n`);
      // A changed handler file is a new version; a changed setting is an update without one.
      const handlerFile = join(folder, runtime === 'python' ? 'handler.py' : 'index.mjs');
      await writeFile(handlerFile, (await readFile(handlerFile, 'utf8')).replace('Hello', 'Hi'));
      assert.equal((await cli(['apply', folder])).stdout, `updated ${name} (version 2)\n`);
      const manifest = join(folder, 'nova.yaml');
      await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('memory_mb: 128', 'memory_mb: 256'));
      assert.equal((await cli(['apply', manifest])).stdout, `updated ${name} (version 2)\n`);
      const info = JSON.parse((await cli(['functions', 'get', name, '--json'])).stdout) as {
        memoryMb: number;
        envVars: Record<string, string>;
      };
      assert.equal(info.memoryMb, 256);
      assert.deepEqual(info.envVars, { LOG_LEVEL: 'info' });
      assert.deepEqual(JSON.parse((await cli(['invoke', name, '{"name": "you"}'])).stdout), { message: 'Hi, you!' });
    });
  }

  it('refuses what it cannot do: an existing file, a bad name or runtime, a manifest with an unknown key', async () => {
    const folder = join(dir, 'init-twice');
    await cli(['init', 'twice', '--runtime', 'python', '--dir', folder]);
    const again = await runCli(['init', 'twice', '--runtime', 'python', '--dir', folder], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /handler\.py already exists; nova init never overwrites/);
    const badName = await runCli(['init', 'Bad_Name', '--runtime', 'python', '--dir', join(dir, 'x')], env);
    assert.match(badName.stderr, /"Bad_Name" is not a function name/);
    const badRuntime = await runCli(['init', 'ruby-fn', '--runtime', 'ruby', '--dir', join(dir, 'y')], env);
    assert.match(badRuntime.stderr, /--runtime must be one of python, node/);

    const manifest = join(folder, 'nova.yaml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('memory_mb:', 'memory:'));
    const refused = await runCli(['apply', folder], env);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /init-twice\/nova\.yaml: line 9: unknown key "functions\.twice\.memory"; known here: runtime, handler, code/,
    );
    const missing = await runCli(['apply', join(dir, 'nowhere')], env);
    assert.match(missing.stderr, /does not exist/);
  });
});
