// The instance side of the data plane's fd-3 protocol, shared by the Node and
// WASM bootstraps. Frames: u32 header length, u32 body length (big-endian),
// a JSON header, then the body bytes.
import { AsyncLocalStorage } from 'node:async_hooks';
import net from 'node:net';

export function openChannel(onFrame) {
  const socket = new net.Socket({ fd: 3, readable: true, writable: true });
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 8) {
      const headerLength = buffered.readUInt32BE(0);
      const bodyLength = buffered.readUInt32BE(4);
      const end = 8 + headerLength + bodyLength;
      if (buffered.length < end) break;
      const header = JSON.parse(buffered.subarray(8, 8 + headerLength).toString('utf8'));
      const body = buffered.subarray(8 + headerLength, end);
      buffered = buffered.subarray(end);
      onFrame(header, body);
    }
  });
  // The data plane closed the channel or died: this instance has no purpose left.
  socket.on('end', () => process.exit(0));
  socket.on('error', () => process.exit(0));
  return {
    send(header, body = Buffer.alloc(0)) {
      const encoded = Buffer.from(JSON.stringify(header));
      const prefix = Buffer.allocUnsafe(8);
      prefix.writeUInt32BE(encoded.length, 0);
      prefix.writeUInt32BE(body.length, 4);
      socket.write(body.length ? Buffer.concat([prefix, encoded, body]) : Buffer.concat([prefix, encoded]));
    },
  };
}

/** The call limits, set by the data plane's load frame (instanceLimits, applyLimits); nothing is allowed before it. */
export const limits = { logBytes: 0, outputBytes: 0, errorChars: 0 };

export function applyLimits(received) {
  Object.assign(limits, received);
}

/** At most `max` bytes of UTF-8 (never more UTF-16 units, as the data plane counts). */
export function clip(text, max, keepEnd = false) {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  return (keepEnd ? bytes.subarray(bytes.length - max) : bytes.subarray(0, max))
    .toString('utf8')
    .replace(/\uFFFD+$|^\uFFFD+/g, '');
}

/** What one call prints, up to the log limit: write() is a stream's write, finish() ends it and gives the text. */
function createCapture() {
  const parts = [];
  let size = 0;
  let truncated = false;
  const write = (chunk, encoding, callback) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const bytes = Buffer.byteLength(text);
    if (size + bytes > limits.logBytes) {
      const room = limits.logBytes - size;
      if (room > 0) parts.push(clip(text, room));
      size = limits.logBytes;
      truncated = true;
    } else {
      parts.push(text);
      size += bytes;
    }
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') done();
    return true;
  };
  const capture = {
    ended: false,
    write,
    finish: () => {
      capture.ended = true;
      return { log: parts.join(''), truncated };
    },
  };
  return capture;
}

/** Takes over process.stdout/stderr writes; returns a function that restores them and gives the text. */
export function captureOutput() {
  const capture = createCapture();
  const originals = [process.stdout.write, process.stderr.write];
  process.stdout.write = capture.write;
  process.stderr.write = capture.write;
  return () => {
    [process.stdout.write, process.stderr.write] = originals;
    return capture.finish();
  };
}

/**
 * For an instance whose calls overlap: each write goes to the call whose
 * code made it (its async context), so one call's log never holds
 * another's. Writes outside any call, or after their call ended, go where
 * they would have gone. Returns run(fn): fn runs as a call and is handed
 * its stop(), which gives the call's text.
 */
export function captureOutputPerCall() {
  const calls = new AsyncLocalStorage();
  const routed = (original) =>
    function write(chunk, encoding, callback) {
      const capture = calls.getStore();
      return capture && !capture.ended
        ? capture.write(chunk, encoding, callback)
        : original.call(this, chunk, encoding, callback);
    };
  process.stdout.write = routed(process.stdout.write);
  process.stderr.write = routed(process.stderr.write);
  return (fn) => {
    const capture = createCapture();
    return calls.run(capture, () => fn(capture.finish));
  };
}

export function describe(error) {
  let text;
  try {
    text =
      error instanceof Error
        ? error.message
          ? `${error.name}: ${error.message}`
          : error.name
        : `Error: ${String(error)}`;
  } catch {
    text = 'Error: <unprintable>';
  }
  return clip(String(text), limits.errorChars);
}

/** Applies the function's environment and working directory, then drops to its user. */
export function specialise(fn) {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, fn.env);
  process.chdir(fn.workDir);
  if (fn.uid !== undefined && fn.uid !== null) {
    process.setgroups([]);
    process.setgid(fn.gid);
    process.setuid(fn.uid);
  }
}

export function decodeEvent(body) {
  if (body.length === 0) return null;
  const text = body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return Buffer.from(text, 'utf8').equals(body) ? text : Buffer.from(body);
  }
}

export function encodeOutput(value) {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const json = JSON.stringify(value);
  return Buffer.from(json === undefined ? 'null' : json);
}

/**
 * Serves the data plane on fd 3: one load frame (limits applied first), then
 * invocations, each started as its frame comes (the data plane sends a
 * second before the first has ended only to a function whose concurrency
 * allows it). `load(header)` resolves with what importing
 * printed; `invoke(header, body)` with [result header, output]. A failed load
 * or a fatal result ends the process, which the data plane then replaces.
 * `stateReply(header, body)` takes the answers to the function's state calls.
 */
export function serve({ load, invoke, stateReply }) {
  const channel = openChannel((header, body) => {
    if (header.t === 'load') {
      applyLimits(header.limits);
      load(header).then(
        (log) => channel.send({ t: 'loaded', log: log ?? '' }),
        (error) => {
          channel.send({
            t: 'load_error',
            error: describe(error),
            log: clip(String(error?.stack ?? ''), limits.logBytes),
          });
          setImmediate(() => process.exit(1));
        },
      );
    } else if (header.t === 'state_reply') {
      stateReply?.(header, body);
    } else if (header.t === 'invoke') {
      void invoke(header, body).then(([result, output]) => {
        channel.send(result, output);
        if (result.fatal) setImmediate(() => process.exit(1));
      });
    }
  });
  channel.send({ t: 'ready' });
  return channel;
}
