import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '#server';
import {
  checkCode,
  checkEnvVars,
  checkNetwork,
  checkHandler,
  checkMaxReplicas,
  checkMemoryMb,
  checkMinReplicas,
  checkReplicasFitNode,
  checkMode,
  checkName,
  checkPage,
  checkRuntime,
  checkTimeoutS,
  checkUpdateMask,
} from './function-rules.js';

function throwsFor(field: string, fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => error instanceof InvalidArgumentError && error.field === field);
}

describe('function rules', () => {
  it('accepts DNS-1123 labels only', () => {
    for (const ok of ['a', 'hello-world', 'a1', 'x'.repeat(63), 'a-b-c9']) assert.equal(checkName(ok), ok);
    for (const bad of ['', 'A', '9a', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(64), 'héllo']) {
      throwsFor('name', () => checkName(bad));
    }
  });

  it('accepts only available runtimes', () => {
    assert.equal(checkRuntime('node', ['python', 'node']), 'node');
    throwsFor('runtime', () => checkRuntime('', ['python']));
    throwsFor('runtime', () => checkRuntime('node', ['python']));
  });

  it('accepts function names and dotted paths as handlers', () => {
    for (const ok of ['handler', 'module.func', 'pkg.mod.fn', '_private', '$x']) assert.equal(checkHandler(ok), ok);
    for (const bad of ['', 'a b', 'a..b', '.a', '1abc', 'x'.repeat(256)]) throwsFor('handler', () => checkHandler(bad));
  });

  it('bounds code to 1 byte .. 10 MiB', () => {
    assert.equal(checkCode(new Uint8Array(10 * 1024 * 1024)).length, 10 * 1024 * 1024);
    throwsFor('code', () => checkCode(new Uint8Array(0)));
    throwsFor('code', () => checkCode(new Uint8Array(10 * 1024 * 1024 + 1)));
  });

  it('fills defaults for 0 and bounds memory, timeout and replicas', () => {
    assert.equal(checkMemoryMb(0), 128);
    assert.equal(checkMemoryMb(128), 128);
    assert.equal(checkMemoryMb(10240), 10240);
    for (const bad of [1, 127, 10241, -128, 1.5]) throwsFor('memory_mb', () => checkMemoryMb(bad));
    assert.equal(checkTimeoutS(0), 30);
    assert.equal(checkTimeoutS(1), 1);
    assert.equal(checkTimeoutS(900), 900);
    for (const bad of [-1, 901]) throwsFor('timeout_s', () => checkTimeoutS(bad));
    const node = { maxInstances: 200, maxMemoryMb: 8192 };
    assert.equal(checkMaxReplicas(0, node), 10);
    assert.equal(checkMaxReplicas(0, { ...node, maxInstances: 3 }), 3, 'the default never exceeds the node cap');
    throwsFor('max_replicas', () => checkMaxReplicas(1001, node));
    throwsFor('max_replicas', () => checkMaxReplicas(-1, node));
    throwsFor('max_replicas', () => checkMaxReplicas(201, node));
    assert.equal(checkMaxReplicas(200, node), 200);
    assert.equal(checkMinReplicas(0, 10), 0);
    assert.equal(checkMinReplicas(10, 10), 10);
    throwsFor('min_replicas', () => checkMinReplicas(11, 10));
    throwsFor('min_replicas', () => checkMinReplicas(-1, 10));
    checkReplicasFitNode({ minReplicas: 64, memoryMb: 128 }, node);
    throwsFor('min_replicas', () => checkReplicasFitNode({ minReplicas: 201, memoryMb: 128 }, node));
    throwsFor('min_replicas', () => checkReplicasFitNode({ minReplicas: 65, memoryMb: 128 }, node));
  });

  it('checks env var names, the NOVA_ prefix and the 4 KiB total', () => {
    assert.deepEqual(checkEnvVars({ A: '1', _b2: '' }), { A: '1', _b2: '' });
    throwsFor('env_vars', () => checkEnvVars({ '2A': 'x' }));
    throwsFor('env_vars', () => checkEnvVars({ 'A-B': 'x' }));
    throwsFor('env_vars', () => checkEnvVars({ '': 'x' }));
    throwsFor('env_vars', () => checkEnvVars({ NOVA_TOKEN: 'x' }));
    throwsFor('env_vars', () => checkEnvVars({ nova_token: 'x' }));
    // 4096 bytes exactly is allowed; multi-byte characters count as bytes.
    assert.doesNotThrow(() => checkEnvVars({ AB: 'x'.repeat(4094) }));
    throwsFor('env_vars', () => checkEnvVars({ AB: 'x'.repeat(4095) }));
    throwsFor('env_vars', () => checkEnvVars({ AB: 'é'.repeat(2048) }));
  });

  it('accepts the process mode only, empty meaning process', () => {
    assert.equal(checkMode(''), 'process');
    assert.equal(checkMode('process'), 'process');
    throwsFor('mode', () => checkMode('thread'));
  });

  it('pages with a default of 100 and a maximum of 1000', () => {
    assert.deepEqual(checkPage(0, 0), { limit: 100, offset: 0 });
    assert.deepEqual(checkPage(1000, 5), { limit: 1000, offset: 5 });
    throwsFor('limit', () => checkPage(1001, 0));
    throwsFor('limit', () => checkPage(-1, 0));
    throwsFor('offset', () => checkPage(1, -1));
  });

  it('reads update masks in snake or camel case and refuses other fields', () => {
    assert.deepEqual([...checkUpdateMask(['env_vars', 'minReplicas'])].sort(), ['env_vars', 'min_replicas']);
    throwsFor('update_mask', () => checkUpdateMask(['name']));
    throwsFor('update_mask', () => checkUpdateMask(['runtime']));
  });
});

describe('checkEnvVars and checkNetwork', () => {
  it('refuses a NUL byte in a value, which no process environment can hold', () => {
    assert.throws(() => checkEnvVars({ A: 'x\0y' }), /env_vars: "A": a value cannot contain a NUL byte/);
  });

  it('takes none (the default) or egress', () => {
    assert.equal(checkNetwork(''), 'none');
    assert.equal(checkNetwork('egress'), 'egress');
    assert.throws(() => checkNetwork('host'), /network: "host" is not a network mode/);
  });
});
