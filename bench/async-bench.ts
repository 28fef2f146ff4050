// Async invocation: enqueue rate (InvokeAsync until "queued") and drain rate
// (queued until succeeded) with one and with two data-plane processes, beside
// a bare `pg` INSERT-then-UPDATE loop on the same PostgreSQL in the same run.
//
//   npm run bench:async -- [--count 5000] [--concurrency 32]
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createControlPlaneClient, createDataPlaneClient } from '#proto';
import { EmbeddedPostgres } from '#storage';
import { createRequest } from '../test/support/requests.js';
import { rate, stopChildren } from './load.js';

const { values: args } = parseArgs({
  options: { count: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '32' } },
});
const count = Number(args.count);
const inFlight = 64;
const repoRoot = join(import.meta.dirname, '..', '..');

async function startNova(env: Record<string, string>, port: number, mode: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/apps/nova/src/main.js'), 'daemon', '--mode', mode], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      NOVA_GRPC_ADDR: `127.0.0.1:${port}`,
      NOVA_LOG_LEVEL: 'info',
      NOVA_WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      if (seen.includes('"msg":"nova listening"')) return;
      seen += chunk.toString();
      if (seen.includes('"msg":"nova listening"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`nova exited with ${code}: ${seen}`)));
  });
  // Keep reading so that a full pipe never blocks the server.
  child.stdout?.resume();
  return child;
}

async function databaseUrl(dataDir: string): Promise<string> {
  const url = await EmbeddedPostgres.runningUrl(dataDir);
  if (!url) throw new Error(`no embedded PostgreSQL runs on ${dataDir}`);
  return url;
}

async function waitUntilDone(db: pg.Pool, fn: string, expected: number): Promise<void> {
  for (;;) {
    const { rows } = await db.query<{ done: string }>(
      "SELECT count(*) AS done FROM invocations WHERE function_name = $1 AND status = 'succeeded'",
      [fn],
    );
    if (Number(rows[0]?.done) >= expected) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'nova-async-bench-'));
  // Reachable by the database's own user, so the cluster sits in the data directory.
  await chmod(work, 0o755);
  const dataDir = join(work, 'data');
  const children: ChildProcess[] = [];
  const apiPort = 20000 + Math.floor(Math.random() * 1000);
  try {
    children.push(await startNova({ NOVA_DATA_DIR: dataDir, NOVA_ASYNC_CONCURRENCY: '0' }, apiPort, 'unified'));
    const url = await databaseUrl(dataDir);
    const db = new pg.Pool({ connectionString: url, max: 8 });
    const address = `127.0.0.1:${apiPort}`;
    const cp = createControlPlaneClient({ address });
    const dp = createDataPlaneClient({ address });
    const request = (fn: string) => ({
      function: fn,
      payload: Buffer.from('{"n":1}'),
      maxAttempts: 0,
      backoffBaseMs: 0,
      backoffMaxMs: 0,
      idempotencyKey: '',
      version: 0,
    });

    // Baseline: the database work an async invocation needs at least, done bare.
    await db.query('CREATE TABLE IF NOT EXISTS bench_rows (id bigint PRIMARY KEY, payload bytea, status text)');
    const insertRate = await rate(count, 8, (i) =>
      db.query('INSERT INTO bench_rows VALUES ($1, $2, $3)', [i, Buffer.from('{"n":1}'), 'queued']),
    );
    const updateRate = await rate(count, 8, (i) =>
      db.query("UPDATE bench_rows SET status = 'succeeded' WHERE id = $1", [i]),
    );
    await db.query('DROP TABLE bench_rows');

    const results: Record<string, number> = { pgInsertPerS: insertRate, pgUpdatePerS: updateRate };
    for (const workers of [1, 2]) {
      const fn = `drain-${workers}`;
      await cp.createFunction(
        createRequest({ name: fn, code: Buffer.from('def handler(event):\n    return event\n') }),
      );
      results[`enqueuePerS_${workers}`] = await rate(count, inFlight, () => dp.invokeAsync(request(fn)));
      const started = performance.now();
      const running = await Promise.all(
        Array.from({ length: workers }, (_, i) =>
          startNova({ NOVA_DATA_DIR: dataDir, NOVA_ASYNC_CONCURRENCY: args.concurrency }, apiPort + 1 + i, 'dataplane'),
        ),
      );
      children.push(...running);
      await waitUntilDone(db, fn, count);
      results[`drainWithStartPerS_${workers}`] = count / ((performance.now() - started) / 1000);
      // The steady drain, without the workers' own start: first attempt begun to last result written.
      const { rows } = await db.query<{ span: number }>(
        `SELECT extract(epoch FROM max(updated_at) - min((attempt_history->0->>'startedAt')::timestamptz)) AS span
           FROM invocations WHERE function_name = $1`,
        [fn],
      );
      results[`drainPerS_${workers}`] = count / Number(rows[0]?.span);
      await stopChildren(running);
      process.stderr.write(
        `${workers} worker(s): enqueue ${results[`enqueuePerS_${workers}`]!.toFixed(0)}/s, drain ${results[`drainPerS_${workers}`]!.toFixed(0)}/s\n`,
      );
    }
    cp.close();
    dp.close();
    await db.end();
    process.stdout.write(
      JSON.stringify({ count, asyncConcurrency: Number(args.concurrency), ...results }, null, 2) + '\n',
    );
  } finally {
    for (const child of children.reverse()) await stopChildren([child]);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
