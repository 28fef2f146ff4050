import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useNova } from './support/fixture.js';
import { repoRoot } from './support/nova-process.js';

/** Debian's python3, where python3-grpcio and python3-protobuf install (scripts/ensure-tools.mjs --test). */
const PYTHON = '/usr/bin/python3';

// Issue 10, item 1: statehouse.v1 from a Python gRPC client, used the way
// Statehouse's own SDK uses it (test/python/statehouse_wire.py says how).
describe('statehouse.v1 from Python (grpcio, as Statehouse’s SDK calls it)', () => {
  const fx = useNova();

  it('passes every check of test/python/statehouse_wire.py', async () => {
    const child = spawn(
      PYTHON,
      [
        join(repoRoot, 'test/python/statehouse_wire.py'),
        fx.nova.address,
        join(repoRoot, 'libs/proto/src/generated/descriptors.binpb'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, output);
    assert.deepEqual(
      output.trim().split('\n'),
      [
        'ok health_and_version',
        'ok write_commit_and_read_back',
        'ok replay_whole_and_range',
        'ok follow_until_cancelled',
        'ok transaction_errors_by_status',
      ],
      output,
    );
  });
});
