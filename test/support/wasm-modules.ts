import wabtInit from 'wabt';

/**
 * A WASI command module that copies stdin to stdout, writes one line to
 * stderr, and exits 3 when the input starts with "x".
 */
export async function echoWasm(): Promise<Buffer> {
  const wabt = await wabtInit();
  const module = wabt.parseWat(
    'echo.wat',
    `(module
      (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
      (memory (export "memory") 2)
      (data (i32.const 64) "echoed by wasm\\n")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.const 65536))
        (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
        (i32.store (i32.const 32) (i32.const 64))
        (i32.store (i32.const 36) (i32.const 15))
        (drop (call $fd_write (i32.const 2) (i32.const 32) (i32.const 1) (i32.const 48)))
        (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 120)) (then (call $proc_exit (i32.const 3))))
        (i32.store (i32.const 0) (i32.const 1024))
        (i32.store (i32.const 4) (i32.load (i32.const 16)))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 48)))))`,
  );
  const { buffer } = module.toBinary({});
  module.destroy();
  return Buffer.from(buffer);
}
