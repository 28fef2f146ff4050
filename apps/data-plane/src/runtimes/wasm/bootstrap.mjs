// Nova's WASM instance bootstrap: runs a WASI (preview 1) command module with
// node:wasi. The module is compiled once at load; each invocation gets a fresh
// instance whose stdin is the payload, whose stdout is the output and whose
// stderr is the log. A non-zero exit code is a function error.
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WASI } from 'node:wasi';
import { clip, describe, limits, serve, specialise } from '../node/channel.mjs';

let compiled;
let fn;

async function load(message) {
  fn = message.function;
  specialise(fn);
  compiled = await WebAssembly.compile(readFileSync(join(fn.codeDir, fn.moduleFiles[fn.module] ?? 'module.wasm')));
}

async function invoke(requestId, body) {
  const paths = ['stdin', 'stdout', 'stderr'].map((name) => join(fn.workDir, `.${name}`));
  writeFileSync(paths[0], body);
  writeFileSync(paths[1], '');
  writeFileSync(paths[2], '');
  const fds = [openSync(paths[0], 'r'), openSync(paths[1], 'w'), openSync(paths[2], 'w')];
  let exitCode;
  let failure;
  try {
    const wasi = new WASI({
      version: 'preview1',
      args: [fn.functionName],
      env: fn.env,
      stdin: fds[0],
      stdout: fds[1],
      stderr: fds[2],
      returnOnExit: true,
    });
    const instance = await WebAssembly.instantiate(compiled, wasi.getImportObject());
    exitCode = wasi.start(instance);
  } catch (error) {
    failure = error;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  const output = readFileSync(paths[1]);
  const stderr = readFileSync(paths[2]);
  const log = clip(stderr.subarray(0, limits.logBytes).toString('utf8'), limits.logBytes);
  const base = { t: 'result', requestId, log, logTruncated: stderr.length > limits.logBytes };
  if (failure) {
    const memory = failure instanceof RangeError || /out of memory/i.test(String(failure?.message));
    return [{ ...base, ok: false, error: describe(failure), ...(memory ? { fatal: 'memory' } : {}) }, Buffer.alloc(0)];
  }
  if (output.length > limits.outputBytes) {
    return [
      { ...base, ok: false, fatal: 'output_too_large', error: `output is ${output.length} bytes` },
      Buffer.alloc(0),
    ];
  }
  if (exitCode !== 0) return [{ ...base, ok: false, error: `WasmExit: exit code ${exitCode}` }, Buffer.alloc(0)];
  return [{ ...base, ok: true }, output];
}

serve({ load, invoke: (header, body) => invoke(header.requestId, body) });
