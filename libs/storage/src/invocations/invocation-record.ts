export const invocationStatuses = ['queued', 'running', 'succeeded', 'failed', 'dead_letter'] as const;

/** How an invocation was called. */
export const invocationKinds = ['sync', 'stream', 'async'] as const;
export type InvocationKind = (typeof invocationKinds)[number];
export type InvocationStatus = (typeof invocationStatuses)[number];

export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** Empty when the attempt succeeded. */
  error: string;
}

/** One invocation, as history keeps it. */
export interface InvocationRecord {
  /** Nova's own id for this invocation, unique. */
  id: string;
  /** The x-request-id of the call that made it; shared by every invocation of a reused id. */
  correlationId: string;
  /** sync or stream (history written here); async invocations are stored by the queue. */
  kind: Exclude<InvocationKind, 'async'>;
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

/** An invocation with what only asynchronous ones have. */
export interface InvocationDetail extends Omit<InvocationRecord, 'kind'> {
  kind: InvocationKind;
  status: InvocationStatus;
  isAsync: boolean;
  attempts: number;
  maxAttempts: number;
  output: Buffer;
  attemptHistory: AttemptRecord[];
  nextRunAt: Date | undefined;
  /** What the handler last said of its progress (context.progress); empty when nothing. */
  progress: string;
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

export interface NewAsyncInvocation {
  id: string;
  /** The x-request-id of the InvokeAsync call. */
  correlationId: string;
  functionName: string;
  version: number;
  /** The version every attempt runs, when the call chose one; otherwise each runs the latest. */
  pinnedVersion?: number;
  payload: Buffer;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Empty for none. */
  idempotencyKey: string;
  /** The W3C trace context of the call that queued it, for its attempts to continue. */
  traceparent?: string;
}

/** An asynchronous invocation this process has leased to run one attempt of. */
export interface ClaimedInvocation {
  id: string;
  functionName: string;
  /** Set when the call chose a version. */
  pinnedVersion?: number;
  payload: Buffer;
  /** This attempt's number, 1-based. */
  attempt: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Set when the call that queued it carried one. */
  traceparent?: string;
}

/** How one attempt ended, to be written back under the lease that ran it. */
export interface AttemptResult {
  id: string;
  attempt: number;
  status: Exclude<InvocationStatus, 'queued' | 'running'>;
  version: number;
  output: Buffer;
  error: string;
  log: string;
  durationMs: number;
  coldStart: boolean;
  startedAt: Date;
  /** For status failed: when to try again. */
  nextRunAt: Date | undefined;
}
