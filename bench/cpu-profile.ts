// Where a server's CPU went, from the .cpuprofile `node --cpu-prof` wrote:
// self time grouped by where the code lives (Nova's own files, each npm
// package, Node's internals by module, the garbage collector), as
// microseconds per call, for issue 14's accounting of a warm call.
import { readFileSync } from 'node:fs';

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
