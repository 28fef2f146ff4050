import { Worker } from 'node:worker_threads';
import { ArchiveError } from './zip-archive.js';

/** Unpacking a legal archive takes about a second; past this it is refused. */
const UNPACK_TIME_BUDGET_MS = 10_000;

export interface UnpackRequest {
  archive: ArrayBuffer;
  keepContents: boolean;
}

export type UnpackReply =
  { ok: true; files: [string, Uint8Array][]; bytes: number } | { ok: false; reason: string; entry?: string };

/**
 * Checks and unpacks a zip archive in a worker thread with a time budget,
 * so that neither a big archive nor a hostile one stalls the event loop.
 * Throws ArchiveError naming the entry it refused.
 */
export async function unpackArchive(
  archive: Uint8Array,
  options: { keepContents: boolean; timeBudgetMs?: number },
): Promise<Map<string, Uint8Array>> {
  const timeBudgetMs = options.timeBudgetMs ?? UNPACK_TIME_BUDGET_MS;
  // A copy the worker can own: the caller's buffer may share memory with others.
  const copy = new Uint8Array(archive).buffer;
  const request: UnpackRequest = { archive: copy, keepContents: options.keepContents };
  const worker = new Worker(new URL('./archive-worker.js', import.meta.url), {
    workerData: request,
    transferList: [copy],
    // Contents live in ArrayBuffers outside the heap; the heap needs little.
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 },
    env: {},
    stdout: true,
    stderr: true,
  });
  try {
    const reply = await new Promise<UnpackReply>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ArchiveError(`the archive took longer than ${timeBudgetMs / 1000} s to unpack`)),
        timeBudgetMs,
      );
      worker.once('message', (message: UnpackReply) => {
        clearTimeout(timer);
        resolve(message);
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(new ArchiveError(`could not be unpacked: ${error.message}`));
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new ArchiveError(`could not be unpacked (the unpacker exited with code ${code})`));
      });
    });
    if (!reply.ok) throw new ArchiveError(reply.reason, reply.entry);
    return new Map(reply.files);
  } finally {
    await worker.terminate();
  }
}
