import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Duplex, Readable } from 'node:stream';
import { JsonLogger } from '#server';
import { FrameChannel } from './frame-channel.js';
import {
  instanceLimits,
  type Frame,
  type StateReply,
  type StateRequest,
  type WorkflowRequest,
} from './instance-protocol.js';
import type { LaunchProfile } from './launch.js';
import type { LaunchCommand } from '../sandbox/sandbox.js';
import type { InstanceCgroup } from '../sandbox/cgroups.js';

/** What makes a generic process an instance of one function version. */
export interface LoadSpec {
  functionName: string;
  version: number;
  memoryMb: number;
  /** Calls it serves at once: above 1, its calls overlap and each one's output is captured apart. */
  concurrency: number;
  handler: string;
  module: string;
  moduleFiles: Record<string, string>;
  codeDir: string;
  workDir: string;
  env: Record<string, string>;
  uid?: number;
  gid?: number;
}

export type InvokeOutcome =
  | { kind: 'ok'; output: Buffer; log: string }
  /** The handler raised; replace is set when the instance cannot go on (it called exit). */
  | { kind: 'function_error'; error: string; log: string; replace: boolean }
  | { kind: 'memory'; error: string; log: string }
  | { kind: 'output_too_large'; error: string; log: string }
  | { kind: 'timeout'; log: string }
  | { kind: 'crashed'; error: string; log: string };

/** The function's code could not be loaded: its import raised, or the process died trying. */
export class LoadFailure extends Error {
  constructor(
    readonly error: string,
    readonly log: string,
  ) {
    super(error);
  }
}

export type InstanceState = 'starting' | 'generic' | 'loading' | 'idle' | 'busy' | 'dead';

const LOG_TRUNCATED = '\n[log truncated at 64 KiB]';
const STDERR_TAIL_BYTES = 4096;

/** Takes one streamed item; a returned promise asks for no more until it settles (backpressure). */
export type ChunkConsumer = (data: Buffer) => void | Promise<void>;

/** A state reply frame: its header, and the value or list as JSON. */
export interface StateAnswer {
  header: StateReply;
  body?: Buffer;
}

/** Answers the state (and, in a workflow, step) calls function code makes during one invocation; never rejects. */
export interface StateHandler {
  handle(request: StateRequest | WorkflowRequest, body: Buffer): Promise<StateAnswer>;
}

/** What one invocation may use besides its payload. */
export interface InvokeOptions {
  /** Streams yielded items; without it the output comes whole. */
  onChunk?: ChunkConsumer;
  /** Answers state calls (and a workflow's step calls); without it they fail. */
  state?: StateHandler;
  /** What the handler says of its progress. */
  onProgress?: (text: string) => void;
  /** Set when the call is a run of a workflow: its context has step and sleep. */
  workflowId?: string;
  /** W3C trace context for the handler (context.traceparent), to continue the trace in what it calls. */
  traceparent?: string;
}

/** State calls one instance may have unanswered at once (Node code can issue many without waiting). */
const STATE_CALLS_IN_FLIGHT = 16;

interface PendingInvoke {
  requestId: string;
  settle: (outcome: InvokeOutcome) => void;
  onChunk: ChunkConsumer | undefined;
  timer: NodeJS.Timeout;
  state: StateHandler | undefined;
  stateCallsInFlight: number;
  onProgress: ((text: string) => void) | undefined;
}

const logger = new JsonLogger('instance');

/**
 * One OS process running a runtime bootstrap: first generic, then loaded
 * with one function version, then serving invocations: one at a time, or
 * as many at once as the function's concurrency allows. Its process group
 * is its own, so that killing it also ends whatever the handler started;
 * a kill ends every call in flight on it.
 */
export class Instance {
  state: InstanceState = 'starting';
  /** The function revision this instance was loaded for. */
  revision: string | undefined;
  functionName: string | undefined;
  memoryLimitMb: number;
  /** Calls it serves at once (from its load). */
  concurrency = 1;
  workDir: string | undefined;
  lastUsedAt = Date.now();
  /** Call slots its FunctionPool has handed out and not yet taken back (the pool's count, kept by the pool). */
  slotsTaken = 0;
  readonly exited: Promise<void>;

  private readonly child: ChildProcess;
  private readonly channel: FrameChannel;
  readonly cgroup: InstanceCgroup | undefined;
  /** The host pid of the instance's pid-namespace init (for joining its network namespace). */
  readonly hostPid: Promise<number | undefined>;
  /** The instance's working directory as it sees it, when the sandbox gave it one. */
  readonly sandboxWorkDir: string | undefined;
  private stderrTail = '';
  private onReady: ((error?: Error) => void) | undefined;
  private onLoaded: ((frame: Frame) => void) | undefined;
  /** The calls in flight, by request id. */
  private readonly calls = new Map<string, PendingInvoke>();
  /** Why the instance was killed for one call, for the others it ends with it. */
  private killedFor: string | undefined;
  private killedForMemory = false;
  /** Why the instance was killed for what it sent, when it was. */
  private violation: string | undefined;
  private exitHandlers: (() => void)[] = [];

  private constructor(
    readonly id: string,
    readonly profile: LaunchProfile,
    command: LaunchCommand,
  ) {
    this.memoryLimitMb = profile.memoryMb;
    this.cgroup = command.cgroup;
    this.sandboxWorkDir = command.workDir;
    const seccomp = command.seccompFile ? openSync(command.seccompFile, 'r') : undefined;
    try {
      this.child = spawn(command.executable, command.args, {
        // fd 3: the channel; fd 4: the seccomp filter bubblewrap reads; fd 5: where it reports its pid.
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', seccomp ?? 'ignore', command.reportsPid ? 'pipe' : 'ignore'],
        // A generic process holds no function yet: it gets no environment of
        // Nova's, only enough to start; the function's comes with `load`.
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
        cwd: '/',
        detached: true,
      });
    } finally {
      if (seccomp !== undefined) closeSync(seccomp);
    }
    this.hostPid = command.reportsPid
      ? readReportedPid((this.child.stdio as unknown[])[5] as Readable | null)
      : Promise.resolve(undefined);
    this.child.stdout?.resume();
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    this.channel = new FrameChannel(
      this.child.stdio[3] as Duplex,
      (frame) => this.onFrame(frame),
      (reason) => this.violate(reason),
    );
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.state = 'dead';
        void this.classifyExit().then(() => {
          this.onExit();
          resolve();
        });
      });
      this.child.once('error', (error) => {
        this.stderrTail += `\n${error.message}`;
        this.state = 'dead';
        this.onExit();
        resolve();
      });
    });
  }

  /** Starts a generic process and waits until its bootstrap is ready. */
  static async start(id: string, profile: LaunchProfile, command: LaunchCommand): Promise<Instance> {
    const instance = new Instance(id, profile, command);
    await new Promise<void>((resolve, reject) => {
      instance.onReady = (error) => (error ? reject(error) : resolve());
    });
    instance.state = 'generic';
    return instance;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  onExitOnce(handler: () => void): void {
    if (this.state === 'dead') handler();
    else this.exitHandlers.push(handler);
  }

  /** Makes this generic process an instance of the function; returns what the import printed. */
  async load(spec: LoadSpec, revision: string): Promise<string> {
    this.state = 'loading';
    this.revision = revision;
    this.functionName = spec.functionName;
    this.workDir = spec.workDir;
    this.memoryLimitMb = spec.memoryMb;
    this.concurrency = spec.concurrency;
    const frame = await new Promise<Frame>((resolve) => {
      this.onLoaded = resolve;
      this.channel.send({ t: 'load', function: spec, limits: instanceLimits });
    });
    if (frame.header.t === 'loaded') {
      this.state = 'idle';
      return frame.header.log;
    }
    if (frame.header.t === 'load_error') throw new LoadFailure(frame.header.error, frame.header.log);
    throw new LoadFailure('RuntimeError: the instance exited while loading the function', this.stderrTail);
  }

  /**
   * Runs one invocation; on timeout the process is killed and the call
   * settles at once. With onChunk, each item the handler yields is handed
   * over as it arrives and the outcome carries no output. With state, the
   * function's state calls are answered; without it they fail.
   */
  invoke(
    requestId: string,
    payload: Uint8Array,
    metadata: Record<string, string>,
    timeoutMs: number,
    { onChunk, state, onProgress, workflowId, traceparent }: InvokeOptions = {},
  ): Promise<InvokeOutcome> {
    if (this.calls.has(requestId)) {
      // Frames are told apart by request id: a second attempt of one async invocation (a lease taken over
      // while the first still ran) must not share an instance with it.
      return Promise.resolve({
        kind: 'function_error',
        error: `RuntimeError: request ${requestId} is already running on this instance`,
        log: '',
        replace: false,
      });
    }
    this.state = 'busy';
    return new Promise((resolve) => {
      const pending: PendingInvoke = {
        requestId,
        settle: resolve,
        onChunk,
        timer: setTimeout(() => {
          this.settle(pending, { kind: 'timeout', log: '' });
          this.killedFor ??= 'another call on it ran past its timeout';
          this.kill();
        }, timeoutMs),
        state,
        stateCallsInFlight: 0,
        onProgress,
      };
      this.calls.set(requestId, pending);
      this.channel.send(
        { t: 'invoke', requestId, metadata, timeoutMs, stream: onChunk !== undefined, workflowId, traceparent },
        payload,
      );
    });
  }

  /**
   * Memory in use in MiB: the anonymous memory of every process in the
   * instance's cgroup, or the resident memory of its one process without
   * cgroups; undefined when it is gone.
   */
  residentMb(): number | undefined {
    if (!this.child.pid || this.state === 'dead') return undefined;
    if (this.cgroup) {
      const bytes = this.cgroup.anonymousBytes();
      return bytes === undefined ? undefined : bytes / (1024 * 1024);
    }
    try {
      // Synchronous, as the cgroup files are (cgroups.ts): procfs text is made in memory.
      const statm = readFileSync(`/proc/${this.child.pid}/statm`, 'utf8');
      return (Number(statm.split(' ')[1]) * 4096) / (1024 * 1024);
    } catch {
      return undefined;
    }
  }

  /** Ends a call that outgrew the memory limit in a way the runtime did not catch. */
  killForMemory(): void {
    this.killedForMemory = true;
    this.kill();
  }

  /**
   * Kills the instance and everything it started: its process group, and
   * with namespaces its whole pid namespace (bubblewrap takes it down when
   * killed), with cgroups every process in its group.
   */
  kill(): void {
    if (this.state === 'dead' || !this.child.pid) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
    if (this.cgroup) void killAll(this.cgroup);
  }

  /** Closes the channel (the bootstrap exits on EOF) and kills what is left. */
  async stop(): Promise<void> {
    this.channel.close();
    this.kill();
    await this.exited;
  }

  /**
   * A frame that passed the protocol's checks must also come in order: ready
   * once at start, loaded once while loading, chunks and one result for a
   * call in flight, echoing its request id. Anything else kills the instance.
   */
  private onFrame(frame: Frame): void {
    const { header } = frame;
    switch (header.t) {
      case 'ready':
        if (this.state !== 'starting' || !this.onReady) return this.violate('"ready" out of order');
        this.onReady();
        this.onReady = undefined;
        return;
      case 'loaded':
      case 'load_error':
        if (this.state !== 'loading' || !this.onLoaded) return this.violate(`"${header.t}" out of order`);
        this.onLoaded(frame);
        this.onLoaded = undefined;
        return;
      case 'chunk': {
        const pending = this.calls.get(header.requestId);
        if (!pending?.onChunk) {
          return this.violate('a streamed chunk outside a streaming call');
        }
        const wait = pending.onChunk(frame.body);
        if (wait) {
          this.channel.pause();
          void wait.finally(() => this.channel.resume());
        }
        return;
      }
      case 'progress':
        // Advisory: a late one (a Node callback after the handler returned) is dropped, not fatal.
        this.calls.get(header.requestId)?.onProgress?.(header.text);
        return;
      case 'state':
      case 'workflow': {
        const pending = this.calls.get(header.requestId);
        if (!pending) return this.violate(`a ${header.t} call outside the calls in flight`);
        const refuse = (code: string, error: string): void =>
          this.channel.send({ t: 'state_reply', seq: header.seq, ok: false, code, error } satisfies StateReply);
        if (!pending.state) return refuse('unavailable', 'state is not available to this call');
        if (pending.stateCallsInFlight >= STATE_CALLS_IN_FLIGHT) {
          return refuse('resource_exhausted', `at most ${STATE_CALLS_IN_FLIGHT} state calls at a time`);
        }
        pending.stateCallsInFlight++;
        void pending.state.handle(header, frame.body).then((answer) => {
          pending.stateCallsInFlight--;
          // The answer to a call that has ended goes nowhere: the instance may serve another by now.
          if (this.calls.get(pending.requestId) === pending) this.channel.send(answer.header, answer.body);
        });
        return;
      }
      case 'result': {
        const pending = this.calls.get(header.requestId);
        if (!pending) return this.violate('a result outside the calls in flight');
        const log = header.log + (header.logTruncated ? LOG_TRUNCATED : '');
        if (header.ok) {
          this.settle(pending, { kind: 'ok', output: frame.body, log });
        } else if (header.fatal === 'memory') {
          // The process exits now: the calls sharing it ran out of the same memory.
          this.killedForMemory = true;
          this.settle(pending, { kind: 'memory', error: header.error ?? 'MemoryError', log });
        } else if (header.fatal === 'output_too_large') {
          this.settle(pending, { kind: 'output_too_large', error: header.error ?? '', log });
        } else {
          this.settle(pending, {
            kind: 'function_error',
            error: header.error ?? 'Error',
            log,
            replace: header.fatal === 'exit',
          });
        }
        return;
      }
    }
  }

  /** The instance broke the protocol: it is killed, and its call fails with the reason. */
  private violate(reason: string): void {
    if (this.violation !== undefined || this.state === 'dead') return;
    this.violation = reason;
    logger.warn('instance broke the protocol; killing it', {
      function: this.functionName,
      instance: this.id,
      reason,
    });
    this.kill();
  }

  private settle(pending: PendingInvoke, outcome: InvokeOutcome): void {
    if (!this.calls.delete(pending.requestId)) return;
    clearTimeout(pending.timer);
    if (this.calls.size === 0 && this.state === 'busy') this.state = 'idle';
    this.lastUsedAt = Date.now();
    pending.settle(outcome);
  }

  /** Asks the kernel whether the instance ran out of memory, then removes its cgroup. */
  private async classifyExit(): Promise<void> {
    if (!this.cgroup) return;
    await killAll(this.cgroup);
    if (this.calls.size > 0 && this.cgroup.oomKilled()) this.killedForMemory = true;
    await this.cgroup
      .remove()
      .catch((error: Error) =>
        logger.warn('could not remove an instance cgroup', { instance: this.id, error: error.message }),
      );
  }

  private onExit(): void {
    const status =
      this.child.exitCode !== null ? `code ${this.child.exitCode}` : `signal ${this.child.signalCode ?? '?'}`;
    const violation = this.violation && `InstanceProtocolError: the instance sent an invalid frame (${this.violation})`;
    this.onReady?.(
      new Error(violation ?? `the runtime exited before it was ready (${status}): ${this.stderrTail.trim()}`),
    );
    this.onReady = undefined;
    this.onLoaded?.({
      header: {
        t: 'load_error',
        error: violation ?? `RuntimeError: the instance exited while loading (${status})`,
        log: this.stderrTail,
      },
      body: Buffer.alloc(0),
    });
    this.onLoaded = undefined;
    // Every call still in flight ends with the instance, for the one reason it died.
    const outOfMemory =
      this.killedForMemory || /heap out of memory|Allocation failed|Cannot allocate memory/i.test(this.stderrTail);
    let outcome: InvokeOutcome;
    if (violation) {
      outcome = { kind: 'crashed', error: violation, log: this.stderrTail };
    } else if (outOfMemory) {
      const whose = this.concurrency > 1 ? 'the calls in flight on its instance' : 'the function';
      outcome = {
        kind: 'memory',
        error: `MemoryLimitExceeded: ${whose} used more than its ${this.memoryLimitMb} MiB`,
        log: this.stderrTail,
      };
    } else if (this.killedFor) {
      outcome = {
        kind: 'crashed',
        error: `RuntimeExitError: the instance was stopped during the call: ${this.killedFor} (calls on one instance end together)`,
        log: this.stderrTail,
      };
    } else {
      outcome = {
        kind: 'crashed',
        error: `RuntimeExitError: the instance exited during the call (${status})`,
        log: this.stderrTail,
      };
    }
    for (const pending of [...this.calls.values()]) this.settle(pending, outcome);
    for (const handler of this.exitHandlers) handler();
    this.exitHandlers = [];
  }
}

/** SIGKILL to every process left in the cgroup (there should be none once bubblewrap is gone). */
async function killAll(cgroup: InstanceCgroup): Promise<void> {
  // Every hierarchy holds the same processes: one list is enough.
  const pids = await readFile(cgroup.procsFiles[0]!, 'utf8').catch(() => '');
  for (const pid of pids.split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** bubblewrap's --info-fd report: {"child-pid": N}. */
function readReportedPid(stream: Readable | null): Promise<number | undefined> {
  return new Promise((resolve) => {
    if (!stream) return resolve(undefined);
    let text = '';
    const parse = (): number | undefined => {
      try {
        const pid = (JSON.parse(text) as { 'child-pid'?: unknown })['child-pid'];
        return typeof pid === 'number' && Number.isInteger(pid) ? pid : undefined;
      } catch {
        return undefined;
      }
    };
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const pid = parse();
      if (pid !== undefined || text.length > 4096) {
        resolve(pid);
        stream.destroy();
      }
    });
    stream.once('close', () => resolve(parse()));
    stream.once('error', () => resolve(undefined));
  });
}
