// Where a server's CPU went, from the .cpuprofile `node --cpu-prof` wrote:
// self time grouped by where the code lives (Nova's own files, each npm
// package, Node's internals by module, the garbage collector), as
// microseconds per call, for issue 14's accounting of a warm call.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The place a frame's code belongs to: "nova apps/data-plane/src/pool", "@grpc/grpc-js", "node:internal/http2", "(gc)". */
export function placeOf(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return '(gc)';
    if (functionName === '(program)' || functionName === '(idle)' || functionName === '(root)') return functionName;
    return '(native)';
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  const inNova = /\/dist\/((?:apps|libs)\/[^/]+\/src\/[^/]+)/.exec(url);
  return inNova ? `nova ${inNova[1]!.replace(/\.js$/, '')}` : url;
}

export interface ProfileSummary {
  /** Milliseconds the process was on CPU (everything but idle). */
  busyMs: number;
  /** Places by self time, largest first, in microseconds per call. */
  places: { place: string; usPerCall: number; share: number }[];
}

export function summarizeCpuProfile(file: string, calls: number, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const placeById = new Map(
    profile.nodes.map((node) => [node.id, placeOf(node.callFrame.url, node.callFrame.functionName)]),
  );
  const selfUs = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const place = placeById.get(profile.samples[i]!) ?? '(unknown)';
    selfUs.set(place, (selfUs.get(place) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  selfUs.delete('(idle)');
  const busyUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
  const places = [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([place, us]) => ({ place, usPerCall: us / Math.max(1, calls), share: us / busyUs }));
  return { busyMs: busyUs / 1000, places };
}

/**
 * Prints, on stderr, the self time per place of the newest profile in `dir`
 * (the one Nova wrote as it exited), per `unit` of the `count` the run did.
 */
export function printNewestCpuProfile(dir: string, count: number, unit: string): void {
  const [newest] = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => ({ name, at: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at);
  if (!newest) throw new Error(`no .cpuprofile in ${dir}`);
  const summary = summarizeCpuProfile(join(dir, newest.name), count);
  process.stderr.write(`Nova's CPU, ${summary.busyMs.toFixed(0)} ms over ${Math.round(count)} ${unit}s:\n`);
  for (const { place, usPerCall, share } of summary.places) {
    process.stderr.write(
      `  ${usPerCall.toFixed(1).padStart(7)} µs/${unit} ${(share * 100).toFixed(1).padStart(5)} %  ${place}\n`,
    );
  }
}
