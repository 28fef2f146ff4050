const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The sizes the API promises (the .proto comments state them). Every check
 * takes them from here; the language bootstraps receive the per-call ones in
 * their load frame and hold no numbers of their own.
 */
export const apiLimits = {
  /** The payload of a call, and the output of a result or of one streamed chunk. */
  payloadBytes: 6 * MiB,
  /** A function's code (a zip archive or a single file). */
  codeBytes: 10 * MiB,
  /** What one call may print (stdout and stderr together). */
  logBytes: 64 * KiB,
  /** An error message (the exception's type and text). */
  errorChars: 8 * KiB,
  /** The largest gRPC message: the code or the payload, plus the envelope. */
  messageBytes: 16 * MiB,
} as const;

/** A size for messages: "6 MiB", "64 KiB", "10 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} bytes`;
}
