// statehouse.v1: GetState, Begin + one Write + Commit, and Replay of 1 000
// events through Nova, each beside a bare `pg` loop doing the same SQL
// against the same embedded PostgreSQL in the same run (issue 10, item 6).
//
//   npm run bench:state -- [--duration 5] [--concurrency 16]
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createStatehouseClient } from '#proto';
import { EmbeddedPostgres } from '#storage';

const { values: args } = parseArgs({
  options: { duration: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '16' } },
});
const durationS = Number(args.duration);
const concurrency = Number(args.concurrency);
const repoRoot = join(import.meta.dirname, '..', '..');

async function startNova(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/apps/nova/src/main.js'), 'daemon'], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      NOVA_GRPC_ADDR: `127.0.0.1:${port}`,
      NOVA_DATA_DIR: dataDir,
      NOVA_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      const probe = createStatehouseClient({ address: `127.0.0.1:${port}` });
      probe.health({}, { timeoutMs: 500 }).then(
        () => {
          clearInterval(poll);
          probe.close();
          resolve();
        },
        () => probe.close(),
      );
    }, 300);
    child.once('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`nova exited with ${code}`));
    });
  });
  child.stdout?.resume();
  return child;
}

/** Calls per second of `task` with `limit` in flight for the duration. */
async function throughput(limit: number, task: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  let next = 0;
  const end = performance.now() + durationS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (performance.now() < end) {
        await task(next++);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'nova-state-bench-'));
  await chmod(work, 0o755);
  const dataDir = join(work, 'data');
  const port = 21000 + Math.floor(Math.random() * 1000);
  const nova = await startNova(dataDir, port);
  try {
    const url = await EmbeddedPostgres.runningUrl(dataDir);
    if (!url) throw new Error('no embedded PostgreSQL');
    const db = new pg.Pool({ connectionString: url, max: concurrency });
    const state = createStatehouseClient({ address: `127.0.0.1:${port}` });
    const at = (key: string) => ({ namespace: 'bench', agentId: 'agent', key });

    // Data to read: 1 000 keys, and an agent with 1 000 events to replay.
    for (let i = 0; i < 1000; i += 100) {
      const { txnId } = await state.beginTransaction({});
      for (let k = i; k < i + 100; k++) await state.write({ txnId, ...at(`k${k}`), value: { n: k, s: 'value' } });
      await state.commit({ txnId });
    }
    for (let i = 0; i < 1000; i++) {
      const { txnId } = await state.beginTransaction({});
      await state.write({ txnId, namespace: 'bench', agentId: 'replayed', key: `e${i % 10}`, value: { i } });
      await state.commit({ txnId });
    }

    const results: Record<string, number> = {};
    results['pgGetPerS'] = await throughput(concurrency, (i) =>
      db.query(
        'SELECT value, version, commit_ts FROM state_latest WHERE namespace = $1 AND agent_id = $2 AND key = $3',
        ['bench', 'agent', `k${i % 1000}`],
      ),
    );
    results['novaGetStatePerS'] = await throughput(concurrency, (i) => state.getState(at(`k${i % 1000}`)));

    // The bare transaction: what one commit must do at least (a row written, fsync at COMMIT).
    await db.query('CREATE TABLE bench_kv (key text PRIMARY KEY, value jsonb, version bigint)');
    results['pgTxnPerS'] = await throughput(concurrency, async (i) => {
      const client = await db.connect();
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO bench_kv VALUES ($1, $2, 1)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = bench_kv.version + 1`,
          [`w${i % 1000}`, JSON.stringify({ i })],
        );
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    });
    results['novaBeginWriteCommitPerS'] = await throughput(concurrency, async (i) => {
      const { txnId } = await state.beginTransaction({});
      await state.write({ txnId, ...at(`w${i % 1000}`), value: { i } });
      await state.commit({ txnId });
    });

    const replayMs: number[] = [];
    for (let run = 0; run < 20; run++) {
      const started = performance.now();
      let events = 0;
      for await (const event of state.replay({ namespace: 'bench', agentId: 'replayed', follow: false })) {
        void event;
        events++;
      }
      if (events !== 1000) throw new Error(`replayed ${events} events, not 1000`);
      replayMs.push(performance.now() - started);
    }
    replayMs.sort((a, b) => a - b);
    results['replay1000P50Ms'] = replayMs[10]!;
    results['pgReplay1000Ms'] = await (async () => {
      const started = performance.now();
      await db.query(
        'SELECT txn_id, commit_ts, operations FROM state_events WHERE namespace = $1 AND agent_id = $2 ORDER BY commit_ts',
        ['bench', 'replayed'],
      );
      return performance.now() - started;
    })();
    state.close();
    await db.end();
    const round = (value: number): number => Math.round(value * 10) / 10;
    const ratio = (value: number): number => Math.round(value * 100) / 100;
    process.stdout.write(
      `${JSON.stringify(
        {
          settings: { durationS, concurrency },
          results: Object.fromEntries(Object.entries(results).map(([key, value]) => [key, round(value)])),
          ratios: {
            getState: ratio(results['novaGetStatePerS'] / results['pgGetPerS']),
            beginWriteCommit: ratio(results['novaBeginWriteCommitPerS'] / results['pgTxnPerS']),
          },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    nova.kill('SIGTERM');
    await new Promise((resolve) => nova.once('exit', resolve));
    await rm(work, { recursive: true, force: true });
  }
}

await main();
