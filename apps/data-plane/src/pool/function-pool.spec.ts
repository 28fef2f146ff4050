import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FunctionRecord } from '#storage';
import { newFunction } from '../../../../test/support/records.js';
import { revisionOf } from './function-pool.js';

const { code: _code, ...settings } = newFunction('fn', { envVars: { A: '1', B: '2' } });
const base: FunctionRecord = {
  ...settings,
  id: 'f1',
  sandboxId: 1,
  version: 1,
  codeHash: 'abc',
  aliases: {},
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

describe('revisionOf', () => {
  it('changes with what an instance is built from: code version, memory, handler, environment', () => {
    const revision = revisionOf(base);
    assert.notEqual(revisionOf({ ...base, version: 2 }), revision);
    assert.notEqual(revisionOf({ ...base, memoryMb: 256 }), revision);
    assert.notEqual(revisionOf({ ...base, handler: 'other' }), revision);
    assert.notEqual(revisionOf({ ...base, envVars: { A: '1', B: '3' } }), revision);
    assert.notEqual(revisionOf({ ...base, id: 'f2' }), revision, 'a function deleted and created again');
  });

  it('stays for what the data plane applies itself: timeout, replicas, key order', () => {
    const revision = revisionOf(base);
    assert.equal(revisionOf({ ...base, timeoutS: 5, minReplicas: 2, maxReplicas: 3 }), revision);
    assert.equal(revisionOf({ ...base, envVars: { B: '2', A: '1' } }), revision);
  });
});
