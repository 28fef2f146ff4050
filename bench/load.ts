// What the benchmarks share: CPU pinning, h2load runs with latency
// percentiles and server CPU per call, prebuilt gRPC frames.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { protoFiles, protoRoot } from '#proto';

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
export const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

export function pinned(cpu: number | string, command: string, commandArgs: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', String(cpu), command, ...commandArgs]] : [command, commandArgs];
}

export function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        child.stdout?.off('data', onData);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${seen}`)));
  });
}

/**
 * CPU seconds used so far by a process and every live descendant, by
 * command name (comm); the root itself is "server".
 */
export function treeCpuByCommand(root: number): Map<string, number> {
  const parents = new Map<number, number>();
  const cpu = new Map<number, { command: string; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const command = Number(entry) === root ? 'server' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
      // utime, stime, cutime, cstime: the last two cover reaped children.
      const seconds = (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / clockTicks;
      cpu.set(Number(entry), { command, seconds });
    } catch {
      // gone meanwhile
    }
  }
  const byCommand = new Map<string, number>();
  for (const [pid, { command, seconds }] of cpu) {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = parents.get(at)) {
      if (at === root) {
        byCommand.set(command, (byCommand.get(command) ?? 0) + seconds);
        break;
      }
    }
  }
  return byCommand;
}

function sum(byCommand: Map<string, number>): number {
  let total = 0;
  for (const seconds of byCommand.values()) total += seconds;
  return total;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The median of each figure over several runs of one target (cut-off calls summed). */
export function medianResult(samples: LoadResult[]): LoadResult {
  const commands = new Set(samples.flatMap((s) => Object.keys(s.cpuMsPerCallByCommand)));
  return {
    rps: median(samples.map((s) => s.rps)),
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    cpuMsPerCall: median(samples.map((s) => s.cpuMsPerCall)),
    cpuMsPerCallByCommand: Object.fromEntries(
      [...commands].map((command) => [command, median(samples.map((s) => s.cpuMsPerCallByCommand[command] ?? 0))]),
    ),
    cutOff: samples.reduce((sum, s) => sum + s.cutOff, 0),
  };
}

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerCall: number;
  /**
   * The same by command name (server for the root, then python3, node,
   * postgres, bwrap...): which
   * process the CPU went to. A process that ended during the run counts
   * only through its parent's cutime.
   */
  cpuMsPerCallByCommand: Record<string, number>;
  /** Requests still in flight when the timed window closed (h2load logs them without a status). */
  cutOff: number;
}

export async function h2load(
  address: string,
  frame: string,
  inFlight: number,
  serverPid: number,
  duration: number,
  path = '/nova.v1.DataPlane/Invoke',
): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'nova-bench-'));
  const log = join(dir, 'requests.log');
  const cpuBefore = treeCpuByCommand(serverPid);
  const [command, commandArgs] = pinned(1, 'h2load', [
    '-c',
    '1',
    '-t',
    '1',
    '-m',
    String(inFlight),
    '-D',
    String(duration),
    '--warm-up-time=1',
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    '-d',
    frame,
    `--log-file=${log}`,
    `http://${address}${path}`,
  ]);
  const { stdout: output } = await promisify(execFile)(command, commandArgs, { maxBuffer: 16 * 1024 * 1024 });
  const cpuAfter = treeCpuByCommand(serverPid);
  const lines = (await readFile(log, 'utf8')).trim().split('\n');
  const latencies = lines.map((line) => Number(line.split('\t')[2]) / 1000).sort((a, b) => a - b);
  const cutOff = lines.filter((line) => line.split('\t')[1] !== '200').length;
  await rm(dir, { recursive: true, force: true });
  const done = /requests: \d+ total, \d+ started, (\d+) done/.exec(output);
  // h2load counts the warm-up too; the log holds only measured requests.
  const calls = latencies.length;
  if (!done) throw new Error(`unexpected h2load output:\n${output}`);
  return {
    rps: calls / duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuMsPerCall: ((sum(cpuAfter) - sum(cpuBefore)) * 1000) / Number(done[1]),
    cpuMsPerCallByCommand: Object.fromEntries(
      [...cpuAfter].map(([command, seconds]) => [
        command,
        ((seconds - (cpuBefore.get(command) ?? 0)) * 1000) / Number(done[1]),
      ]),
    ),
    cutOff,
  };
}

export async function invokeFrame(dir: string, functionName: string): Promise<string> {
  const root = protobuf.loadSync(join(protoRoot, protoFiles.dataPlane));
  const type = root.lookupType('nova.v1.InvokeRequest');
  const message = Buffer.from(
    type.encode(type.create({ function: functionName, payload: Buffer.from('{"n":1}') })).finish(),
  );
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  const file = join(dir, `${functionName}.grpc`);
  await writeFile(file, Buffer.concat([prefix, message]));
  return file;
}

/** SIGTERM to every child still running (one killed by a signal has exited too), then waits until each has exited. */
export async function stopChildren(children: readonly ChildProcess[]): Promise<void> {
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of running) child.kill('SIGTERM');
  await Promise.all(running.map((child) => new Promise((resolve) => child.once('exit', resolve))));
}

/** Runs `total` tasks with `limit` in flight; returns tasks per second. */
export async function rate(total: number, limit: number, task: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

/** Resolves once the server at address answers grpc.health.v1 Check with SERVING (for servers that log only warnings). */
export async function waitServing(address: string, timeoutMs = 60_000): Promise<void> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const identity = (bytes: Buffer): Buffer => bytes;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const serving = await new Promise<boolean>((resolve) =>
        client.makeUnaryRequest(
          '/grpc.health.v1.Health/Check',
          identity,
          identity,
          Buffer.alloc(0),
          new grpc.Metadata(),
          { deadline: Date.now() + 1000 },
          (error, response) => resolve(!error && response !== undefined && response.equals(Buffer.from([8, 1]))),
        ),
      );
      if (serving) return;
      if (Date.now() > deadline) throw new Error(`${address} did not serve within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.close();
  }
}
