import { readFile } from 'node:fs/promises';
import { apiLimits, formatBytes } from '#proto/client';

/** Reads stdin, stopping as soon as it holds more than `limit` bytes (the caller refuses those). */
async function readStdin(limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > limit) break;
  }
  return Buffer.concat(chunks);
}

/**
 * The payload of `nova invoke`, as the AWS CLI and faas-cli take it: text on
 * the command line, `@file` for a file, `-` for stdin. It must be JSON (the
 * parse error says where it is not) unless --raw sends it as it is; empty
 * means no payload.
 */
export async function readPayload(argument: string, raw: boolean): Promise<Buffer> {
  const limit = apiLimits.payloadBytes;
  let payload: Buffer;
  let source = 'the payload';
  if (argument === '-') {
    payload = await readStdin(limit);
    source = 'stdin';
  } else if (argument.startsWith('@')) {
    const file = argument.slice(1);
    payload = await readFile(file);
    source = file;
  } else {
    payload = Buffer.from(argument);
  }
  if (payload.length > limit) {
    throw new Error(`${source} is over ${formatBytes(limit)}, the largest payload a function takes`);
  }
  if (!raw && payload.length > 0) {
    try {
      JSON.parse(payload.toString('utf8'));
    } catch (error) {
      throw new Error(`${source} is not valid JSON (${(error as Error).message}); pass --raw to send it as it is`, {
        cause: error,
      });
    }
  }
  return payload;
}
