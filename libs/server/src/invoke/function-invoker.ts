/** A call of a function made by another part of Nova (the agent platform), not by a client. */
export interface FunctionCall {
  /** "name", or "name:version", "name:alias". */
  functionName: string;
  payload: Uint8Array;
  /** Kept as the invocation's correlation id. */
  correlationId: string;
  /** Epoch ms; undefined: the function's own timeout bounds it. */
  deadline: number | undefined;
  /** The caller's authorization header, passed on to the node that runs it (empty: none). */
  authorization: string;
}

export interface FunctionOutcome {
  invocationId: string;
  output: Buffer;
  /** "ExceptionType: message"; empty on success. */
  error: string;
}

/** One item a streaming handler yielded; error set on the last when the handler failed. */
export interface FunctionStreamItem {
  data: Buffer;
  error: string;
}

export interface QueuedFunctionCall {
  functionName: string;
  payload: Uint8Array;
  correlationId: string;
  /** A repeated key returns the first invocation. */
  idempotencyKey: string;
  authorization: string;
}

export interface InvocationState {
  id: string;
  /** queued, running, succeeded, failed, dead_letter. */
  status: string;
  attempts: number;
  maxAttempts: number;
  output: Buffer;
  error: string;
  /** What the handler last said of its progress. */
  progress: string;
}

/**
 * How the agent platform runs functions wherever it is served: in
 * process in unified mode (the data plane provides it), through the
 * router's node selection in router mode. Failures the data plane raises
 * (an unknown function, a full queue) come back as the errors it raises
 * (gRPC status errors through a router).
 */
export abstract class FunctionInvoker {
  abstract invoke(call: FunctionCall): Promise<FunctionOutcome>;
  abstract stream(call: FunctionCall, signal: AbortSignal): AsyncIterable<FunctionStreamItem>;
  /** Queues it durably; answers the invocation id. */
  abstract enqueue(call: QueuedFunctionCall): Promise<string>;
  abstract invocation(id: string, authorization: string): Promise<InvocationState>;
}
