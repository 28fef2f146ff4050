// Warm Invoke throughput and latency of Nova beside a bare grpc-js echo
// server measured in the same run, and cold starts per runtime.
//
//   npm run bench -- [--duration 5] [--runs 3] [--concurrency 1,8,32] [--cold 20] [--profile DIR] [--max-replicas N] [--node-concurrency 8]
//
// Load comes from h2load (Debian package nghttp2-client) sending a prebuilt
// gRPC frame, pinned to CPU 1 while the servers are pinned to CPU 0.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createControlPlaneClient, createDataPlaneClient } from '#proto';
import { createRequest, invokeRequest } from '../test/support/requests.js';
import { printNewestCpuProfile } from './cpu-profile.js';
import {
  h2load,
  hasTaskset,
  invokeFrame,
  medianResult,
  percentile,
  pinned,
  stopChildren,
  waitForLine,
  type LoadResult,
} from './load.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,8,32' },
    cold: { type: 'string', default: '20' },
    // Servers on CPU 0 only (the default), or free to use both cores.
    'pin-servers': { type: 'string', default: 'true' },
    // A directory: Nova runs under --cpu-prof, and its self time per place is printed per call.
    profile: { type: 'string' },
    // The functions' max_replicas (0: Nova's default, 10): how many instance processes share the load.
    'max-replicas': { type: 'string', default: '0' },
    /** The concurrency of the third target, a Node function whose instances serve that many calls at once. */
    'node-concurrency': { type: 'string', default: '8' },
  },
});
const pinServers = args['pin-servers'] !== 'false';
const duration = Number(args.duration);
const runs = Number(args.runs);
const concurrencies = args.concurrency.split(',').map(Number);
const coldSamples = Number(args.cold);
const repoRoot = join(import.meta.dirname, '..', '..');

async function main(): Promise<void> {
  try {
    execFileSync('h2load', ['--version']);
  } catch {
    throw new Error('h2load is needed: apt-get install nghttp2-client');
  }
  const work = await mkdtemp(join(tmpdir(), 'nova-bench-'));
  const children: ChildProcess[] = [];
  try {
    const serverCpu = pinServers ? 0 : '0,1';
    const [echoCommand, echoArgs] = pinned(serverCpu, process.execPath, [
      join(repoRoot, 'dist/bench/echo-server.js'),
      '127.0.0.1:0',
    ]);
    const echo = spawn(echoCommand, echoArgs, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(echo);
    const echoPort = (await waitForLine(echo, /listening (\d+)/))[1]!;

    const novaPort = 19000 + Math.floor(Math.random() * 1000);
    const [novaCommand, novaArgs] = pinned(serverCpu, process.execPath, [
      ...(args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : []),
      join(repoRoot, 'dist/apps/nova/src/main.js'),
      'daemon',
    ]);
    const nova = spawn(novaCommand, novaArgs, {
      cwd: repoRoot,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? '/tmp',
        NOVA_GRPC_ADDR: `127.0.0.1:${novaPort}`,
        NOVA_DATA_DIR: join(work, 'data'),
        // One log line per call costs as much as a trivial call: measured without
        // (NOVA_LOG_LEVEL=info npm run bench measures with).
        NOVA_LOG_LEVEL: process.env['NOVA_LOG_LEVEL'] ?? 'warn',
        NOVA_WORKERS: '1',
        // To measure the request context's cost: NOVA_LOG_CALL_CONTEXT=on npm run bench.
        ...(process.env['NOVA_LOG_CALL_CONTEXT']
          ? { NOVA_LOG_CALL_CONTEXT: process.env['NOVA_LOG_CALL_CONTEXT'] }
          : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(nova);
    let novaOutput = '';
    nova.stdout?.on('data', (chunk: Buffer) => (novaOutput = (novaOutput + chunk.toString()).slice(-10_000)));
    nova.once('exit', (code) => {
      if (code !== 0 && code !== null) process.stderr.write(`nova exited with ${code}:\n${novaOutput}\n`);
    });
    const address = `127.0.0.1:${novaPort}`;
    const cp = createControlPlaneClient({ address });
    const dp = createDataPlaneClient({ address });
    for (let tries = 0; ; tries++) {
      try {
        await dp.health({});
        break;
      } catch (error) {
        if (tries > 300 || nova.exitCode !== null) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const maxReplicas = Number(args['max-replicas']);
    const pythonEcho = Buffer.from('def handler(event):\n    return event\n');
    const nodeEcho = Buffer.from('exports.handler = (event) => event;\n');
    const nodeConcurrency = Number(args['node-concurrency']);
    await cp.createFunction(createRequest({ name: 'bench-py', maxReplicas, code: pythonEcho }));
    await cp.createFunction(createRequest({ name: 'bench-node', runtime: 'node', maxReplicas, code: nodeEcho }));
    await cp.createFunction(
      createRequest({
        name: 'bench-node-shared',
        runtime: 'node',
        maxReplicas,
        code: nodeEcho,
        concurrency: nodeConcurrency,
      }),
    );
    // Warm up: enough parallel calls to start every instance the load will use.
    for (const name of ['bench-py', 'bench-node', 'bench-node-shared']) {
      await Promise.all(Array.from({ length: 64 }, () => dp.invoke(invokeRequest(name, Buffer.from('{"n":1}')))));
    }

    const targets = [
      {
        name: 'grpc-js echo (baseline)',
        address: `127.0.0.1:${echoPort}`,
        frame: await invokeFrame(work, 'echo'),
        pid: echo.pid!,
      },
      { name: 'Nova, Python', address, frame: await invokeFrame(work, 'bench-py'), pid: nova.pid! },
      { name: 'Nova, Node', address, frame: await invokeFrame(work, 'bench-node'), pid: nova.pid! },
      {
        name: `Nova, Node, concurrency ${nodeConcurrency}`,
        address,
        frame: await invokeFrame(work, 'bench-node-shared'),
        pid: nova.pid!,
      },
    ];
    const warm: { target: string; inFlight: number; result: LoadResult }[] = [];
    for (const inFlight of concurrencies) {
      for (const target of targets) {
        const samples: LoadResult[] = [];
        for (let run = 0; run < runs; run++)
          samples.push(await h2load(target.address, target.frame, inFlight, target.pid, duration));
        const result = medianResult(samples);
        warm.push({ target: target.name, inFlight, result });
        const split = Object.entries(result.cpuMsPerCallByCommand)
          .filter(([, ms]) => ms >= 0.001)
          .map(([command, ms]) => `${command} ${(ms * 1000).toFixed(0)}`)
          .join(', ');
        process.stderr.write(
          `${target.name} @${inFlight}: ${result.rps.toFixed(0)} req/s p50 ${result.p50Ms.toFixed(2)} ms p99 ${result.p99Ms.toFixed(2)} ms, CPU per call (us): ${split}\n`,
        );
      }
    }
    const calls = await dp.listInvocations({ status: '', function: 'bench-py', limit: 1, offset: 0 });
    const failedCalls = await dp.getMetrics({ function: 'bench-py', rangeSeconds: 3600 });

    const cold: { runtime: string; p50Ms: number; p95Ms: number; serverP50Ms: number }[] = [];
    for (const runtime of ['python', 'node']) {
      const client: number[] = [];
      const server: number[] = [];
      const code =
        runtime === 'python' ? 'def handler(event):\n    return event\n' : 'exports.handler = (event) => event;\n';
      for (let i = 0; i < coldSamples; i++) {
        const name = `cold-${runtime}-${i}`;
        await cp.createFunction(createRequest({ name, runtime, maxReplicas, code: Buffer.from(code) }));
        // Let the warm pool refill, as it does between real cold starts.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const started = performance.now();
        const response = await dp.invoke(invokeRequest(name, Buffer.from('{}')));
        client.push(performance.now() - started);
        server.push(response.durationMs);
        if (!response.coldStart) throw new Error('expected a cold start');
      }
      client.sort((a, b) => a - b);
      server.sort((a, b) => a - b);
      cold.push({
        runtime,
        p50Ms: percentile(client, 50),
        p95Ms: percentile(client, 95),
        serverP50Ms: percentile(server, 50),
      });
    }
    cp.close();
    dp.close();
    process.stdout.write(
      JSON.stringify(
        {
          machine: { cpus: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length, node: process.version },
          settings: { duration, runs, loadGeneratorPinned: hasTaskset, serversPinned: hasTaskset && pinServers },
          warm,
          cold,
          novaInvocationsRecorded: calls.total,
          novaFailedInvocations: failedCalls.failedInvocations,
        },
        null,
        2,
      ) + '\n',
    );
    await stopChildren(children);
    if (args.profile) printNewestCpuProfile(args.profile, calls.total, 'call');
  } finally {
    await stopChildren(children);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
