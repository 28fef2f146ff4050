/**
 * The fd-3 protocol between the data plane and an instance's bootstrap, and
 * the rules every frame from an instance must pass. An instance runs the
 * tenant's code, which can write anything to fd 3: each frame is hostile
 * input until it has been checked here.
 *
 * Framing: u32 header length, u32 body length (big-endian), a JSON header,
 * then the body bytes (payload in, output out).
 */
import { apiLimits } from '#proto';

/** The limits of one call, sent to the bootstraps in the load frame (they hold none of their own). */
export const instanceLimits = {
  /** Payload of a call and output of a result or streamed chunk. */
  outputBytes: apiLimits.payloadBytes,
  logBytes: apiLimits.logBytes,
  errorChars: apiLimits.errorChars,
} as const;

/** The largest header an instance may send: a 64 KiB log escaped as JSON stays well below it. */
export const MAX_HEADER_BYTES = 1024 * 1024;
/** The largest body: a result's output. */
export const MAX_BODY_BYTES = instanceLimits.outputBytes;

export type InstanceMessage =
  | { t: 'ready' }
  | { t: 'loaded'; log: string }
  | { t: 'load_error'; error: string; log: string }
  | { t: 'chunk'; requestId: string }
  | { t: 'progress'; requestId: string; text: string }
  | StateRequest
  | WorkflowRequest
  | {
      t: 'result';
      requestId: string;
      ok: boolean;
      error: string | undefined;
      fatal: 'memory' | 'output_too_large' | 'exit' | undefined;
      log: string;
      logTruncated: boolean;
    };

/** What function code may ask of state during its call (context.state); body: a commit's operations as JSON. */
export const stateOps = ['get', 'keys', 'scan', 'tx_get', 'tx_commit', 'tx_abort'] as const;
export type StateOp = (typeof stateOps)[number];

/**
 * A state call from the instance, answered by a `state_reply` frame with the
 * same seq. Scope fields left out mean the function's default scope.
 */
export interface StateRequest {
  t: 'state';
  requestId: string;
  seq: number;
  op: StateOp;
  namespace: string | undefined;
  agentId: string | undefined;
  key: string | undefined;
  prefix: string | undefined;
}

/** What a workflow's code asks of its run (context.step, context.sleep); body: a finished step's JSON result. */
export const workflowOps = ['step_begin', 'step_end', 'step_fail', 'sleep'] as const;
export type WorkflowOp = (typeof workflowOps)[number];

/**
 * A workflow call from the instance, answered like a state call (a
 * `state_reply` with the same seq; `replay` with the recorded result as body
 * when a step_begin finds its checkpoint).
 */
export interface WorkflowRequest {
  t: 'workflow';
  requestId: string;
  seq: number;
  op: WorkflowOp;
  /** step_*: the step's name. */
  name: string | undefined;
  /** sleep: how long. */
  seconds: number | undefined;
  /** step_fail: what the step threw. */
  error: string | undefined;
}

/** The longest step name. */
export const STEP_NAME_CHARS = 200;
/** The longest durable sleep: a year. */
export const MAX_SLEEP_SECONDS = 366 * 24 * 3600;

/** The answer to a StateRequest or WorkflowRequest: ok with what the op returns (body: JSON), or an error kind and message. */
export type StateReply =
  | { t: 'state_reply'; seq: number; ok: true; exists?: boolean; version?: number; commitTs?: number; replay?: boolean }
  | { t: 'state_reply'; seq: number; ok: false; code: string; error: string };

/** What context.progress() may say; the bootstraps cut longer text to this. */
export const PROGRESS_CHARS = 256;

/** Scope and key fields: long enough for the state limits to be checked (and answered) by the state service. */
const STATE_FIELD_CHARS = 4096;

export interface Frame {
  header: InstanceMessage;
  body: Buffer;
}

/** A frame that breaks the protocol: the instance that sent it is killed. */
export class ProtocolViolation extends Error {}

const fatalKinds = new Set(['memory', 'output_too_large', 'exit']);

function field(header: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(header, name) ? header[name] : undefined;
}

function text(header: Record<string, unknown>, name: string, maxChars: number): string {
  const value = field(header, name);
  if (typeof value !== 'string') throw new ProtocolViolation(`"${name}" must be a string`);
  if (value.length > maxChars)
    throw new ProtocolViolation(`"${name}" is ${value.length} characters; at most ${maxChars}`);
  return value;
}

function optionalText(header: Record<string, unknown>, name: string, maxChars: number): string | undefined {
  return field(header, name) === undefined ? undefined : text(header, name, maxChars);
}

function flag(header: Record<string, unknown>, name: string): boolean {
  const value = field(header, name);
  if (typeof value !== 'boolean') throw new ProtocolViolation(`"${name}" must be true or false`);
  return value;
}

function noBody(body: Buffer, kind: string): void {
  if (body.length > 0) throw new ProtocolViolation(`a "${kind}" frame carries no body (got ${body.length} bytes)`);
}

/**
 * Decodes and checks one frame's header against the message it claims to
 * be: every field present with its type and within its size, nothing the
 * data plane would have to trust blindly. Throws ProtocolViolation.
 */
export function parseInstanceMessage(headerBytes: Buffer, body: Buffer): InstanceMessage {
  let decoded: unknown;
  try {
    decoded = JSON.parse(headerBytes.toString('utf8'));
  } catch {
    throw new ProtocolViolation('the frame header is not JSON');
  }
  if (decoded === null || typeof decoded !== 'object' || Array.isArray(decoded)) {
    throw new ProtocolViolation('the frame header is not a JSON object');
  }
  const header = decoded as Record<string, unknown>;
  const kind = field(header, 't');
  const log = (): string => text(header, 'log', instanceLimits.logBytes);
  switch (kind) {
    case 'ready':
      noBody(body, kind);
      return { t: 'ready' };
    case 'loaded':
      noBody(body, kind);
      return { t: 'loaded', log: log() };
    case 'load_error':
      noBody(body, kind);
      return { t: 'load_error', error: text(header, 'error', instanceLimits.errorChars), log: log() };
    case 'chunk':
      return { t: 'chunk', requestId: text(header, 'requestId', 256) };
    case 'progress':
      noBody(body, kind);
      return { t: 'progress', requestId: text(header, 'requestId', 256), text: text(header, 'text', PROGRESS_CHARS) };
    case 'state': {
      const seq = field(header, 'seq');
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
        throw new ProtocolViolation('"seq" must be a whole number');
      }
      const op = field(header, 'op');
      if (typeof op !== 'string' || !(stateOps as readonly string[]).includes(op)) {
        throw new ProtocolViolation(`"op" must be one of ${stateOps.join(', ')}`);
      }
      if (op !== 'tx_commit') noBody(body, `state ${op}`);
      return {
        t: 'state',
        requestId: text(header, 'requestId', 256),
        seq,
        op: op as StateOp,
        namespace: optionalText(header, 'namespace', STATE_FIELD_CHARS),
        agentId: optionalText(header, 'agentId', STATE_FIELD_CHARS),
        key: optionalText(header, 'key', STATE_FIELD_CHARS),
        prefix: optionalText(header, 'prefix', STATE_FIELD_CHARS),
      };
    }
    case 'workflow': {
      const seq = field(header, 'seq');
      if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
        throw new ProtocolViolation('"seq" must be a whole number');
      }
      const op = field(header, 'op');
      if (typeof op !== 'string' || !(workflowOps as readonly string[]).includes(op)) {
        throw new ProtocolViolation(`"op" must be one of ${workflowOps.join(', ')}`);
      }
      if (op !== 'step_end') noBody(body, `workflow ${op}`);
      const seconds = field(header, 'seconds');
      if (op === 'sleep' && (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)) {
        throw new ProtocolViolation('"seconds" must be a number of seconds, 0 or more');
      }
      const name = optionalText(header, 'name', STEP_NAME_CHARS);
      if (op !== 'sleep' && (name === undefined || name === '')) throw new ProtocolViolation('a step needs a name');
      return {
        t: 'workflow',
        requestId: text(header, 'requestId', 256),
        seq,
        op: op as WorkflowOp,
        name,
        seconds: typeof seconds === 'number' ? seconds : undefined,
        error: optionalText(header, 'error', instanceLimits.errorChars),
      };
    }
    case 'result': {
      const fatal = field(header, 'fatal');
      if (fatal !== undefined && (typeof fatal !== 'string' || !fatalKinds.has(fatal))) {
        throw new ProtocolViolation(`"fatal" must be one of ${[...fatalKinds].join(', ')}`);
      }
      const ok = flag(header, 'ok');
      if (!ok && body.length > 0) throw new ProtocolViolation('a failed result carries no output');
      return {
        t: 'result',
        requestId: text(header, 'requestId', 256),
        ok,
        error: optionalText(header, 'error', instanceLimits.errorChars),
        fatal: fatal as 'memory' | 'output_too_large' | 'exit' | undefined,
        log: log(),
        logTruncated: flag(header, 'logTruncated'),
      };
    }
    default:
      throw new ProtocolViolation(`unknown frame type ${JSON.stringify(kind)?.slice(0, 40) ?? 'undefined'}`);
  }
}
