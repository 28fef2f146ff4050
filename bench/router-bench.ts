// The router's cost and what function affinity buys, each beside its
// baseline in the same run:
//   1. a bare grpc-js echo called directly, and through a router (its own overhead);
//   2. warm Invoke of a Python function on a data-plane node, directly and
//      through a router, against the echo;
//   3. two functions on one data-plane node against one each on two nodes,
//      behind one router (on 2 cores: the cost of the hop, not a gain);
//   4. cold starts of N functions × M calls over 3 nodes, routed by
//      affinity against round robin.
//
//   npm run bench:router -- [--duration 5] [--runs 3] [--functions 100] [--calls 10]
//
// Servers are pinned to CPU 0, h2load to CPU 1 (as in invoke-bench).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createControlPlaneClient, createDataPlaneClient } from '#proto';
import { Database, EmbeddedPostgres, NodesRepository } from '#storage';
import { rankFor } from '../apps/router/src/nodes/rendezvous.js';
import { createRequest, invokeRequest } from '../test/support/requests.js';
import {
  h2load,
  hasTaskset,
  invokeFrame,
  median,
  medianResult,
  pinned,
  stopChildren,
  waitForLine,
  waitServing,
  type LoadResult,
} from './load.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    functions: { type: 'string', default: '100' },
    calls: { type: 'string', default: '10' },
  },
});
const duration = Number(args.duration);
const runs = Number(args.runs);
const coldFunctions = Number(args.functions);
const coldCalls = Number(args.calls);
const repoRoot = join(import.meta.dirname, '..', '..');
const IN_FLIGHT = [1, 32];
const python = Buffer.from('def handler(event):\n    return event\n');

interface Started {
  child: ChildProcess;
  address: string;
}

let nextPort = 21000 + Math.floor(Math.random() * 2000);
const children: ChildProcess[] = [];

async function startNova(mode: string, env: Record<string, string>): Promise<Started> {
  const port = nextPort++;
  const [command, commandArgs] = pinned(0, process.execPath, [
    join(repoRoot, 'dist/apps/nova/src/main.js'),
    'daemon',
    '--mode',
    mode,
  ]);
  const child = spawn(command, commandArgs, {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      NOVA_GRPC_ADDR: `127.0.0.1:${port}`,
      NOVA_LOG_LEVEL: 'warn',
      NOVA_WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const address = `127.0.0.1:${port}`;
  await Promise.race([
    waitServing(address),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`nova --mode ${mode} exited: ${code}`)))),
  ]);
  return { child, address };
}

async function measure(address: string, frame: string, inFlight: number, pid: number): Promise<LoadResult> {
  const samples: LoadResult[] = [];
  for (let run = 0; run < runs; run++) samples.push(await h2load(address, frame, inFlight, pid, duration));
  return medianResult(samples);
}

/** Two loads at once, one per function, 16 in flight each: their summed throughput. */
async function measurePair(address: string, frames: [string, string], pid: number): Promise<number> {
  const totals: number[] = [];
  for (let run = 0; run < runs; run++) {
    const [a, b] = await Promise.all(frames.map((frame) => h2load(address, frame, 16, pid, duration)));
    totals.push(a!.rps + b!.rps);
  }
  return median(totals);
}

async function waitFor(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 300; tries++) {
    if (await condition().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'nova-bench-'));
  const postgres = await EmbeddedPostgres.start({ dataDir: join(work, 'pg'), log: () => undefined });
  const database = await Database.open({ databaseUrl: postgres.url, dataDir: work, log: () => undefined, poolSize: 2 });
  const results: Record<string, unknown> = {};
  const line = (name: string, inFlight: number, result: LoadResult): void => {
    process.stderr.write(
      `${name} @${inFlight}: ${result.rps.toFixed(0)} req/s p50 ${result.p50Ms.toFixed(2)} ms p99 ${result.p99Ms.toFixed(2)} ms cpu ${result.cpuMsPerCall.toFixed(3)} ms/call\n`,
    );
  };
  try {
    await database.migrate();
    const env = { DATABASE_URL: postgres.url, NOVA_HEARTBEAT_MS: '500' };
    const [echoCommand, echoArgs] = pinned(0, process.execPath, [
      join(repoRoot, 'dist/bench/echo-server.js'),
      '127.0.0.1:0',
    ]);
    const echo = spawn(echoCommand, echoArgs, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(echo);
    const echoAddress = `127.0.0.1:${(await waitForLine(echo, /listening (\d+)/))[1]!}`;
    const router = await startNova('router', env);
    const routerDp = createDataPlaneClient({ address: router.address });

    // 1. The router alone: the echo registered as the only data-plane node.
    const nodes = new NodesRepository(database.sql);
    const echoNode = {
      id: 'bare-echo',
      address: echoAddress,
      planes: ['data-plane'],
      runtimes: [],
      capacity: 1,
      version: 'bench',
      heartbeatMs: 500,
    };
    await nodes.register(echoNode);
    const beat = setInterval(() => void nodes.heartbeat('bare-echo', { inFlight: 0, warmInstances: 0 }), 250);
    await waitFor(
      'the router to route to the echo',
      async () => (await routerDp.invoke(invokeRequest('echo', Buffer.from('{}')))).output.length >= 0,
    );
    const echoFrame = await invokeFrame(work, 'echo');
    const overhead: Record<string, unknown>[] = [];
    for (const inFlight of IN_FLIGHT) {
      const direct = await measure(echoAddress, echoFrame, inFlight, echo.pid!);
      line('echo direct', inFlight, direct);
      const routed = await measure(router.address, echoFrame, inFlight, router.child.pid!);
      line('router -> echo', inFlight, routed);
      overhead.push({ inFlight, echo: direct, routerToEcho: routed });
    }
    results['routerOverhead'] = overhead;
    clearInterval(beat);
    await nodes.deregister('bare-echo');

    // 2. Router -> data-plane node -> Python instance.
    const dp0 = await startNova('dataplane', { ...env, NOVA_NODE_ID: 'dp-0' });
    const cp = await startNova('controlplane', env);
    const control = createControlPlaneClient({ address: cp.address });
    const names = ['bench-a', 'bench-b', 'bench-c', 'bench-d'];
    for (const name of names) await control.createFunction(createRequest({ name, code: python }));
    const direct = createDataPlaneClient({ address: dp0.address });
    await waitFor('dp-0 routable', async () => (await routerDp.health({})).status === 'healthy');
    for (const name of names) {
      await Promise.all(Array.from({ length: 32 }, () => routerDp.invoke(invokeRequest(name, Buffer.from('{"n":1}')))));
    }
    const frame = await invokeFrame(work, 'bench-a');
    const warm: Record<string, unknown>[] = [];
    for (const inFlight of IN_FLIGHT) {
      const echoRun = await measure(echoAddress, frame, inFlight, echo.pid!);
      line('echo direct', inFlight, echoRun);
      const nodeRun = await measure(dp0.address, frame, inFlight, dp0.child.pid!);
      line('data plane direct', inFlight, nodeRun);
      const routedRun = await measure(router.address, frame, inFlight, router.child.pid!);
      line('router -> data plane', inFlight, routedRun);
      warm.push({ inFlight, echo: echoRun, dataPlane: nodeRun, routerToDataPlane: routedRun });
    }
    results['warmInvoke'] = warm;

    // 3. Two functions on one node, then one each on two nodes.
    const dp1 = await startNova('dataplane', { ...env, NOVA_NODE_ID: 'dp-1' });
    await waitFor('dp-1 routable', async () =>
      ((await routerDp.health({})).components['node.dp-1'] ?? '').startsWith('live'),
    );
    // A function homed on each node (rendezvous rank over dp-0 and dp-1).
    const homes = new Map(names.map((name) => [name, rankFor([{ id: 'dp-0' }, { id: 'dp-1' }], name)[0]!.id]));
    const onDp0 = names.find((name) => homes.get(name) === 'dp-0');
    const onDp1 = names.find((name) => homes.get(name) === 'dp-1');
    if (!onDp0 || !onDp1) throw new Error(`no function homed on each node: ${JSON.stringify([...homes])}`);
    for (const name of [onDp0, onDp1]) {
      await Promise.all(Array.from({ length: 32 }, () => routerDp.invoke(invokeRequest(name, Buffer.from('{"n":1}')))));
    }
    const pair: [string, string] = [await invokeFrame(work, onDp0), await invokeFrame(work, onDp1)];
    const twoNodes = await measurePair(router.address, pair, router.child.pid!);
    process.stderr.write(`two functions, two nodes: ${twoNodes.toFixed(0)} req/s\n`);
    dp1.child.kill('SIGTERM');
    await waitFor('dp-1 gone', async () => (await routerDp.health({})).components['node.dp-1'] === undefined);
    const oneNode = await measurePair(router.address, pair, router.child.pid!);
    process.stderr.write(`two functions, one node: ${oneNode.toFixed(0)} req/s\n`);
    results['workers'] = { oneNodeRps: oneNode, twoNodesRps: twoNodes };

    // 4. Cold starts over three nodes: affinity against round robin.
    await startNova('dataplane', { ...env, NOVA_NODE_ID: 'dp-1b' });
    await startNova('dataplane', { ...env, NOVA_NODE_ID: 'dp-2' });
    const roundRobin = await startNova('router', { ...env, NOVA_ROUTER_BALANCE: 'round-robin' });
    const roundRobinDp = createDataPlaneClient({ address: roundRobin.address });
    for (const client of [routerDp, roundRobinDp]) {
      await waitFor('three routable nodes', async () =>
        /^3 /.test((await client.health({})).components['router'] ?? ''),
      );
    }
    const cold: Record<string, number> = {};
    for (const [mode, client] of [
      ['affinity', routerDp],
      ['round-robin', roundRobinDp],
    ] as const) {
      const fns = Array.from({ length: coldFunctions }, (_, i) => `cold-${mode}-${i}`);
      for (const name of fns) await control.createFunction(createRequest({ name, code: python }));
      let coldStarts = 0;
      // Ten functions at a time, each called `calls` times in a row.
      for (let at = 0; at < fns.length; at += 10) {
        await Promise.all(
          fns.slice(at, at + 10).map(async (name) => {
            for (let call = 0; call < coldCalls; call++) {
              const answer = await client.invoke(invokeRequest(name, Buffer.from('{}')));
              if (answer.coldStart) coldStarts += 1;
            }
          }),
        );
      }
      cold[mode] = coldStarts;
      process.stderr.write(`${mode}: ${coldStarts} cold starts for ${coldFunctions} functions × ${coldCalls} calls\n`);
    }
    results['coldStarts'] = { functions: coldFunctions, callsEach: coldCalls, nodes: 3, ...cold };
    control.close();
    direct.close();
    routerDp.close();
    roundRobinDp.close();
    process.stdout.write(
      JSON.stringify(
        {
          machine: { cpus: readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length, node: process.version },
          settings: { duration, runs, pinned: hasTaskset },
          ...results,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await stopChildren(children);
    await database.close();
    await postgres.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
