import type { Duplex } from 'node:stream';
import {
  MAX_BODY_BYTES,
  MAX_HEADER_BYTES,
  ProtocolViolation,
  parseInstanceMessage,
  type Frame,
} from './instance-protocol.js';

const PREFIX_BYTES = 8;

/**
 * Splits a byte stream into frames and checks each one. Pure (no I/O), so
 * that it can be fuzzed: push() returns the frames completed by a chunk or
 * throws ProtocolViolation, after which the decoder is unusable.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;
  /** Bytes the frame at the head of the buffer needs, once its prefix is known. */
  private needed = PREFIX_BYTES;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames: Frame[] = [];
    while (this.length >= this.needed) {
      const buffered = this.flatten();
      const headerLength = buffered.readUInt32BE(0);
      const bodyLength = buffered.readUInt32BE(4);
      if (headerLength === 0 || headerLength > MAX_HEADER_BYTES) {
        throw new ProtocolViolation(`a frame header of ${headerLength} bytes (1 to ${MAX_HEADER_BYTES})`);
      }
      if (bodyLength > MAX_BODY_BYTES) {
        throw new ProtocolViolation(`a frame body of ${bodyLength} bytes (at most ${MAX_BODY_BYTES})`);
      }
      const end = PREFIX_BYTES + headerLength + bodyLength;
      if (buffered.length < end) {
        this.needed = end;
        break;
      }
      // Copies, so that a frame never pins the whole read buffer it came in.
      const body = Buffer.from(buffered.subarray(PREFIX_BYTES + headerLength, end));
      const header = parseInstanceMessage(buffered.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength), body);
      frames.push({ header, body });
      const rest = buffered.subarray(end);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
      this.needed = PREFIX_BYTES;
    }
    return frames;
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0]!;
  }
}

/**
 * The data plane's end of the fd-3 socket to an instance. Nothing an
 * instance sends can throw out of here: a frame that breaks the protocol,
 * or an exception in its handler, ends the channel through onBroken once,
 * and the instance is killed by its owner.
 */
export class FrameChannel {
  private readonly decoder = new FrameDecoder();
  private broken = false;

  constructor(
    private readonly socket: Duplex,
    private readonly onFrame: (frame: Frame) => void,
    private readonly onBroken: (reason: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.breakWith(`channel error: ${error.message}`));
  }

  send(header: Record<string, unknown>, body?: Uint8Array): void {
    if (this.broken || this.socket.destroyed) return;
    const json = JSON.stringify(header);
    const headerLength = Buffer.byteLength(json);
    const bodyLength = body?.length ?? 0;
    // One buffer and one write per frame: the socket coalesces writes into one syscall when it can.
    const frame = Buffer.allocUnsafe(PREFIX_BYTES + headerLength + bodyLength);
    frame.writeUInt32BE(headerLength, 0);
    frame.writeUInt32BE(bodyLength, 4);
    frame.write(json, PREFIX_BYTES);
    if (body && bodyLength > 0) frame.set(body, PREFIX_BYTES + headerLength);
    this.socket.write(frame);
  }

  /** Stops reading from the instance (a slow stream consumer); the instance blocks on its own writes. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.broken) this.socket.resume();
  }

  close(): void {
    this.socket.end();
  }

  private receive(chunk: Buffer): void {
    if (this.broken) return;
    try {
      for (const frame of this.decoder.push(chunk)) {
        if (this.broken) return;
        this.onFrame(frame);
      }
    } catch (error) {
      this.breakWith(error instanceof ProtocolViolation ? error.message : `frame handling failed: ${String(error)}`);
    }
  }

  private breakWith(reason: string): void {
    if (this.broken) return;
    this.broken = true;
    this.socket.destroy();
    this.onBroken(reason);
  }
}
