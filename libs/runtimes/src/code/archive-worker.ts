import { parentPort, workerData } from 'node:worker_threads';
import { ArchiveError, unpackZip } from './zip-archive.js';
import type { UnpackReply, UnpackRequest } from './unpack-archive.js';

// Runs in a worker thread: inflating is CPU work that must not hold up the
// event loop that answers calls and health checks.
const request = workerData as UnpackRequest;
let reply: UnpackReply;
try {
  const files: [string, Uint8Array][] = [];
  const bytes = unpackZip(Buffer.from(request.archive), (path, content) => {
    // Without contents the names still tell whether the handler's module is there.
    files.push([path, request.keepContents ? new Uint8Array(content) : new Uint8Array(0)]);
  });
  reply = { ok: true, files, bytes };
} catch (error) {
  reply =
    error instanceof ArchiveError
      ? { ok: false, reason: error.reason, ...(error.entry === undefined ? {} : { entry: error.entry }) }
      : { ok: false, reason: `could not be unpacked: ${(error as Error).message}` };
}
parentPort!.postMessage(reply, reply.ok ? reply.files.map(([, content]) => content.buffer as ArrayBuffer) : []);
