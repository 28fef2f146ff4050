// Nova's Node instance bootstrap. Started as a generic process, it waits on
// fd 3 for one `load` message that makes it an instance of one function
// version (environment, working directory, the function's user, then the
// handler's module), and then runs each `invoke` it is sent: one at a time,
// or several at once for a function whose concurrency allows it. See
// channel.mjs for the framing.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import {
  captureOutput,
  captureOutputPerCall,
  decodeEvent,
  describe,
  encodeOutput,
  limits,
  serve,
  specialise,
} from './channel.mjs';
import { createState, createWorkflow, forgetStateCalls, receiveStateReply } from './state.mjs';

let handler;
let fn;
/** Set when calls overlap (concurrency above 1): runs one with its own output capture. */
let runAsCall;

async function load(message) {
  fn = message.function;
  specialise(fn);
  const dot = fn.handler.lastIndexOf('.');
  const moduleName = dot >= 0 ? fn.handler.slice(0, dot) : fn.module;
  const exportName = dot >= 0 ? fn.handler.slice(dot + 1) : fn.handler;
  const file = join(fn.codeDir, fn.moduleFiles[moduleName] ?? `${moduleName}.js`);
  const stop = captureOutput();
  try {
    // CommonJS through require: it skips the ESM loader's translation, a few ms of every cold start.
    const loaded = file.endsWith('.cjs') ? createRequire(file)(file) : await import(pathToFileURL(file).href);
    const candidate = loaded[exportName] ?? loaded.default?.[exportName];
    if (typeof candidate !== 'function') {
      throw new TypeError(`module '${moduleName}' has no exported function '${exportName}'`);
    }
    handler = candidate;
  } finally {
    const { log } = stop();
    fn.loadLog = log;
  }
  // After the import: what it printed is the load log, captured above.
  if (fn.concurrency > 1) runAsCall = captureOutputPerCall();
}

function context(header) {
  const deadline = performance.now() + header.timeoutMs;
  let state;
  let workflow;
  return {
    /** Set when this call is a run of a workflow (StartWorkflow): step and sleep work then. */
    workflowId: header.workflowId,
    step: (name, fn) => (workflow ??= createWorkflow(channel, header.requestId)).step(name, fn),
    sleep: (seconds) => (workflow ??= createWorkflow(channel, header.requestId)).sleep(seconds),
    /** Made on first use: most calls never touch state. */
    get state() {
      state ??= createState(channel, header.requestId);
      return state;
    },
    requestId: header.requestId,
    awsRequestId: header.requestId,
    functionName: fn.functionName,
    functionVersion: String(fn.version),
    version: fn.version,
    memoryLimitMb: fn.memoryMb,
    memoryLimitInMB: fn.memoryMb,
    metadata: header.metadata ?? {},
    /** W3C trace context of this invocation: send it on (a `traceparent` header) to continue the trace. */
    traceparent: header.traceparent ?? '',
    getRemainingTimeInMillis: () => Math.max(0, Math.floor(deadline - performance.now())),
    /** How far the work has come ("step 2 of 3"); an async invocation keeps the last report. */
    progress: (text) => channel.send({ t: 'progress', requestId: header.requestId, text: String(text).slice(0, 256) }),
  };
}

function isStream(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) return false;
  return typeof value[Symbol.asyncIterator] === 'function' || typeof value.next === 'function';
}

function invoke(header, body) {
  return runAsCall ? runAsCall((stop) => invokeOne(header, body, stop)) : invokeOne(header, body, captureOutput());
}

async function invokeOne(header, body, stop) {
  let result = { t: 'result', requestId: header.requestId, ok: true };
  let output = Buffer.alloc(0);
  try {
    const value = await handler(decodeEvent(body), context(header));
    if (header.stream) {
      // Each item goes out as soon as the generator yields it.
      for await (const item of isStream(value) ? value : [value]) {
        const chunk = encodeOutput(item);
        if (chunk.length > limits.outputBytes) throw new RangeError(`a streamed chunk is ${chunk.length} bytes`);
        channel.send({ t: 'chunk', requestId: header.requestId }, chunk);
      }
    } else if (isStream(value)) {
      const items = [];
      for await (const item of value) items.push(item);
      output = encodeOutput(items);
    } else {
      output = encodeOutput(value);
    }
    if (output.length > limits.outputBytes) {
      result = {
        t: 'result',
        requestId: header.requestId,
        ok: false,
        fatal: 'output_too_large',
        error: `output is ${output.length} bytes`,
      };
      output = Buffer.alloc(0);
    }
  } catch (error) {
    if (error instanceof Error && error.stack) process.stderr.write(error.stack + '\n');
    result = { t: 'result', requestId: header.requestId, ok: false, error: describe(error) };
    if (error instanceof RangeError && /allocation failed|Array buffer allocation/i.test(error.message)) {
      result.fatal = 'memory';
    }
  }
  const { log, truncated } = stop();
  forgetStateCalls(header.requestId);
  return [{ ...result, log, logTruncated: truncated }, output];
}

const channel = serve({
  load: async (header) => {
    await load(header);
    return fn.loadLog;
  },
  invoke,
  stateReply: receiveStateReply,
});
