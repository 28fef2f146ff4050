import type { Duplex } from 'node:stream';

/** A message from an instance's bootstrap. */
export type InstanceMessage =
  | { t: 'ready'; pid: number }
  | { t: 'loaded'; log: string }
  | { t: 'load_error'; error: string; log: string }
  | { t: 'chunk' }
  | {
      t: 'result';
      ok: boolean;
      error?: string;
      fatal?: 'memory' | 'output_too_large' | 'exit';
      log: string;
      logTruncated: boolean;
    };

export interface Frame {
  header: InstanceMessage;
  body: Buffer;
}

// A result carries at most 6 MiB of output; anything larger is a broken instance.
const MAX_FRAME_BYTES = 8 * 1024 * 1024;

/**
 * The data plane's end of the fd-3 socket to an instance: u32 header length,
 * u32 body length (big-endian), a JSON header, then the body. The header is
 * small; the payload and output travel as raw bytes.
 */
export class FrameChannel {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(
    private readonly socket: Duplex,
    onFrame: (frame: Frame) => void,
    onBroken: (reason: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 8) {
        const headerLength = this.buffered.readUInt32BE(0);
        const bodyLength = this.buffered.readUInt32BE(4);
        if (headerLength + bodyLength > MAX_FRAME_BYTES) {
          onBroken(`frame of ${headerLength + bodyLength} bytes exceeds ${MAX_FRAME_BYTES}`);
          socket.destroy();
          return;
        }
        const end = 8 + headerLength + bodyLength;
        if (this.buffered.length < end) break;
        let header: InstanceMessage;
        try {
          header = JSON.parse(this.buffered.subarray(8, 8 + headerLength).toString('utf8')) as InstanceMessage;
        } catch {
          onBroken('unreadable frame header');
          socket.destroy();
          return;
        }
        const body = this.buffered.subarray(8 + headerLength, end);
        this.buffered = this.buffered.subarray(end);
        onFrame({ header, body });
      }
    });
    socket.on('error', (error) => onBroken(error.message));
  }

  send(header: Record<string, unknown>, body?: Uint8Array): void {
    const encoded = Buffer.from(JSON.stringify(header));
    const prefix = Buffer.allocUnsafe(8);
    prefix.writeUInt32BE(encoded.length, 0);
    prefix.writeUInt32BE(body?.length ?? 0, 4);
    // One write per frame: the socket coalesces them into one syscall when it can.
    this.socket.write(
      body && body.length > 0 ? Buffer.concat([prefix, encoded, body]) : Buffer.concat([prefix, encoded]),
    );
  }

  close(): void {
    this.socket.end();
  }
}
