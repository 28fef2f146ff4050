import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findUpward } from '#proto/client';

export interface BuildInfo {
  version: string;
  /** The commit Nova was built from, or "unknown" outside a git checkout. */
  gitSha: string;
}

let cached: BuildInfo | undefined;

/** Nova's version (package.json) and, when it runs from a git checkout, the commit, read without a git binary. */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  const root = findUpward(import.meta.url, 'package.json');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  cached = { version, gitSha: gitSha(root) };
  return cached;
}

function gitSha(root: string): string {
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return 'unknown';
    try {
      return readFileSync(join(root, '.git', ref), 'utf8').trim();
    } catch {
      const packed = readFileSync(join(root, '.git', 'packed-refs'), 'utf8');
      return (
        packed
          .split('\n')
          .find((line) => line.endsWith(` ${ref}`))
          ?.split(' ')[0] ?? 'unknown'
      );
    }
  } catch {
    return 'unknown';
  }
}
