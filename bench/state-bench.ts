// statehouse.v1: GetState, Begin + one Write + Commit, and Replay of 1 000
// events through Nova, each beside a bare `pg` loop doing the same SQL
// against the same embedded PostgreSQL in the same run (issue 10, item 6).
//
//   npm run bench:state -- [--duration 5] [--concurrency 16] [--phases get,txn,replay] [--replays 20] [--profile DIR]
//
// --profile runs Nova under --cpu-prof and prints its self time per place
// (bench/cpu-profile.ts) per operation of the phases run: run one phase at
// a time to see where that operation's CPU goes.
//
// The load on Nova must not come from a client slower than the server: a
// grpc-js client with proto-loader spends more CPU per GetState than Nova
// does (it capped an earlier version of this bench at a third of the
// server's rate). GetState is driven by h2load with one prebuilt request;
// the transaction's three dependent calls and Replay by raw HTTP/2 with
// hand-built protobuf frames (no generated code, no Struct conversion).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createStatehouseClient } from '#proto';
import { EmbeddedPostgres } from '#storage';
import { printNewestCpuProfile } from './cpu-profile.js';
import { median } from './load.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    phases: { type: 'string', default: 'get,txn,replay' },
    replays: { type: 'string', default: '20' },
    profile: { type: 'string' },
  },
});
const phases = new Set(args.phases.split(','));
const durationS = Number(args.duration);
const concurrency = Number(args.concurrency);
const repoRoot = join(import.meta.dirname, '..', '..');

async function startNova(dataDir: string, port: number): Promise<ChildProcess> {
  const profiling = args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : [];
  const child = spawn(process.execPath, [...profiling, join(repoRoot, 'dist/apps/nova/src/main.js'), 'daemon'], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      NOVA_GRPC_ADDR: `127.0.0.1:${port}`,
      NOVA_DATA_DIR: dataDir,
      NOVA_LOG_LEVEL: 'warn',
      NOVA_WORKERS: '1',
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

/** A protobuf length-delimited field (wire type 2) with a one- or two-byte tag. */
function bytesField(field: number, value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  const length: number[] = [];
  let n = data.length;
  do {
    length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...length]), data]);
}

/** A gRPC message: uncompressed flag, u32 length, the bytes. */
function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

/** One gRPC call over a raw HTTP/2 session: the response messages, or the grpc-status as an error. */
function rawCall(session: ClientHttp2Session, path: string, body: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const chunks: Buffer[] = [];
    let grpcStatus = '0';
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('trailers', (trailers: IncomingHttpHeaders) => (grpcStatus = String(trailers['grpc-status'] ?? '0')));
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
    });
    stream.on('error', reject);
    stream.on('end', () => {
      if (grpcStatus !== '0') return reject(new Error(`${path}: grpc-status ${grpcStatus}`));
      const all = Buffer.concat(chunks);
      const messages: Buffer[] = [];
      for (let at = 0; at < all.length;) {
        const length = all.readUInt32BE(at + 1);
        messages.push(all.subarray(at + 5, at + 5 + length));
        at += 5 + length;
      }
      resolve(messages);
    });
    stream.end(body);
  });
}

/** Field 1 of a message, when it is a short string (BeginTransactionResponse.txn_id). */
function firstString(message: Buffer): string {
  if (message[0] !== 0x0a) throw new Error('expected field 1');
  return message.subarray(2, 2 + message[1]!).toString();
}

const SERVICE = '/statehouse.v1.StatehouseService/';
/** {"i": 1} as google.protobuf.Struct: fields map entry "i" → Value{number_value: 1}. */
const STRUCT_VALUE = bytesField(
  1,
  Buffer.concat([bytesField(1, 'i'), bytesField(2, Buffer.from([0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]))]),
);

/** h2load sending one prebuilt request on one connection, `inFlight` at a time: calls per second. */
async function h2loadRate(address: string, path: string, message: Buffer, inFlight: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'nova-state-bench-'));
  const file = join(dir, 'request.grpc');
  await writeFile(file, grpcFrame(message));
  const log = join(dir, 'requests.log');
  try {
    const output = execFileSync('h2load', [
      ...['-c', '1', '-t', '1', '-m', String(inFlight), '-D', String(durationS), '--warm-up-time=1'],
      ...['-H', 'content-type: application/grpc', '-H', 'te: trailers', '-d', file, `--log-file=${log}`],
      `http://${address}${path}`,
    ]).toString();
    if (!/ 0 failed, 0 errored/.test(output)) throw new Error(`${path}: calls failed\n${output}`);
    // Requests still in flight when the window closed are logged without a status.
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    return lines.filter((line) => line.split('\t')[1] === '200').length / durationS;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * CPU seconds (user + system) a process has used, from /proc, with those of
 * its children that have ended (PostgreSQL's postmaster reaps the backends
 * of closed connections); 0 once it is gone.
 */
async function cpuSecondsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime, in clock ticks
  return [11, 12, 13, 14].reduce((sum, at) => sum + Number(fields[at] ?? 0), 0) / 100;
}

/** CPU seconds used so far by Nova and by every PostgreSQL process (postmaster and backends). */
async function cpuNow(novaPid: number): Promise<{ nova: number; postgres: number }> {
  let postgres = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'postgres') postgres += await cpuSecondsOf(Number(entry));
  }
  return { nova: await cpuSecondsOf(novaPid), postgres };
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
    db.on('error', () => undefined); // idle clients lose their server when Nova stops at the end
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
    /** Runs a phase that does `rate` operations a second, and records Nova's and PostgreSQL's CPU µs per operation. */
    const measured = async (name: string, phase: () => Promise<number>): Promise<number> => {
      const before = await cpuNow(nova.pid!);
      const started = performance.now();
      const rate = await phase();
      const seconds = (performance.now() - started) / 1000;
      const after = await cpuNow(nova.pid!);
      const operations = rate * seconds;
      results[`${name}NovaCpuUsPerOp`] = ((after.nova - before.nova) * 1e6) / operations;
      results[`${name}PostgresCpuUsPerOp`] = ((after.postgres - before.postgres) * 1e6) / operations;
      return rate;
    };
    const address = `127.0.0.1:${port}`;
    const session = connect(`http://${address}`);
    // Nova's operations in the phases run, for the profile's per-operation figures.
    let novaOperations = 0;
    if (phases.has('get')) {
      results['pgGetPerS'] = await measured('pgGet', () =>
        throughput(concurrency, (i) =>
          db.query(
            'SELECT value, version, commit_ts FROM state_latest WHERE namespace = $1 AND agent_id = $2 AND key = $3',
            ['bench', 'agent', `k${i % 1000}`],
          ),
        ),
      );
      results['novaGetStatePerS'] = await measured('novaGetState', () =>
        h2loadRate(
          address,
          `${SERVICE}GetState`,
          Buffer.concat([bytesField(1, 'bench'), bytesField(2, 'agent'), bytesField(3, 'k1')]),
          concurrency,
        ),
      );
      novaOperations += results['novaGetStatePerS'] * durationS;
    }

    if (phases.has('txn')) {
      // The bare transaction: what one commit must do at least (a row written, fsync at COMMIT).
      await db.query('CREATE TABLE bench_kv (key text PRIMARY KEY, value jsonb, version bigint)');
      const bareTransaction = async (i: number): Promise<void> => {
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
      };
      results['pgTxnPerS'] = await measured('pgTxn', () => throughput(concurrency, bareTransaction));
      // One at a time: the rate of commits that each wait for their own fsync,
      // the ceiling of any design that orders commits by taking a clock in turn.
      results['pgTxnOneAtATimePerS'] = await throughput(1, bareTransaction);
      const begin = grpcFrame(Buffer.alloc(0));
      results['novaBeginWriteCommitPerS'] = await measured('novaBeginWriteCommit', () =>
        throughput(concurrency, async (i) => {
          const txnId = firstString((await rawCall(session, `${SERVICE}BeginTransaction`, begin))[0]!);
          const where = [bytesField(2, 'bench'), bytesField(3, 'agent'), bytesField(4, `w${i % 1000}`)];
          const write = Buffer.concat([bytesField(1, txnId), ...where, bytesField(5, STRUCT_VALUE)]);
          await rawCall(session, `${SERVICE}Write`, grpcFrame(write));
          await rawCall(session, `${SERVICE}Commit`, grpcFrame(bytesField(1, txnId)));
        }),
      );
      novaOperations += results['novaBeginWriteCommitPerS'] * durationS;
    }

    if (phases.has('replay')) {
      const replayRequest = grpcFrame(Buffer.concat([bytesField(1, 'bench'), bytesField(2, 'replayed')]));
      const replayMs: number[] = [];
      const pgReplayMs: number[] = [];
      for (let run = 0; run < Number(args.replays); run++) {
        let started = performance.now();
        const events = await rawCall(session, `${SERVICE}Replay`, replayRequest);
        if (events.length !== 1000) throw new Error(`replayed ${events.length} events, not 1000`);
        replayMs.push(performance.now() - started);
        started = performance.now();
        await db.query(
          'SELECT txn_id, commit_ts, operations FROM state_events WHERE namespace = $1 AND agent_id = $2 ORDER BY commit_ts',
          ['bench', 'replayed'],
        );
        pgReplayMs.push(performance.now() - started);
      }
      novaOperations += replayMs.length;
      results['replay1000P50Ms'] = median(replayMs);
      results['pgReplay1000P50Ms'] = median(pgReplayMs);
    }
    session.close();
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
            getState: ratio(results['novaGetStatePerS']! / results['pgGetPerS']!),
            beginWriteCommit: ratio(results['novaBeginWriteCommitPerS']! / results['pgTxnPerS']!),
          },
        },
        null,
        2,
      )}\n`,
    );
    nova.kill('SIGTERM');
    await new Promise((resolve) => nova.once('exit', resolve));
    if (args.profile) printNewestCpuProfile(args.profile, novaOperations, 'op');
  } finally {
    if (nova.exitCode === null && nova.signalCode === null) {
      nova.kill('SIGTERM');
      await new Promise((resolve) => nova.once('exit', resolve));
    }
    await rm(work, { recursive: true, force: true });
  }
}

await main();
