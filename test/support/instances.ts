import { readFileSync, readdirSync } from 'node:fs';

/**
 * Python code that gives its instance a name of its own (prctl
 * PR_SET_NAME): in a pid namespace every instance is pid 2, so tests tell
 * instances apart, and find their processes on the host, by this name.
 */
export const pythonInstanceMarker =
  'import ctypes as _ctypes, uuid as _uuid\nMARKER = "n" + _uuid.uuid4().hex[:14]\n_ctypes.CDLL(None).prctl(15, MARKER.encode(), 0, 0, 0)\n';

/** The host pid of the process an instance named with pythonInstanceMarker, while it lives. */
export function hostPidOf(marker: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === marker) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
