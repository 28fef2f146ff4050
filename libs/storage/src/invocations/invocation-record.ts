/** One finished invocation, as history keeps it. */
export interface InvocationRecord {
  /** The request id. */
  id: string;
  functionName: string;
  version: number;
  durationMs: number;
  success: boolean;
  coldStart: boolean;
  /** "ExceptionType: message", empty on success. */
  error: string;
  /** What the handler printed, at most 64 KiB. */
  log: string;
  createdAt: Date;
}

export interface InvocationMetrics {
  total: number;
  successful: number;
  failed: number;
  avgDurationMs: number;
  p50DurationMs: number;
  p95DurationMs: number;
  p99DurationMs: number;
}
