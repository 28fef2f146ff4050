import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackendState } from './backend-health.js';

describe('backend health (rise 2, fall 3)', () => {
  it('becomes healthy after two passing checks and unhealthy after three failing ones', () => {
    const state = new BackendState();
    assert.equal(state.status, 'unknown');
    state.record(true);
    assert.equal(state.status, 'unknown');
    state.record(true);
    assert.equal(state.status, 'healthy');
    state.record(false);
    state.record(false);
    assert.equal(state.status, 'healthy', 'two failures are not yet a fall');
    assert.equal(state.record(false), true, 'the third is, and says it changed');
    assert.equal(state.status, 'unhealthy');
    state.record(true);
    assert.equal(state.status, 'unhealthy');
    state.record(true);
    assert.equal(state.status, 'healthy');
  });

  it('counts a first failed check of an endpoint never seen up as unhealthy at once', () => {
    const state = new BackendState();
    state.record(false);
    assert.equal(state.status, 'unhealthy');
  });
});
