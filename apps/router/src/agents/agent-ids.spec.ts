import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientIdOf, serviceIdOf } from './agent-ids.js';

describe('agent platform ids', () => {
  it('maps the service form to the client form and back, as seed 004 does', () => {
    assert.equal(clientIdOf('agent', 'agent-echo'), 'echo-agent');
    assert.equal(clientIdOf('agent', 'echo-agent'), 'echo-agent');
    assert.equal(clientIdOf('tool', 'tool-weather'), 'weather-tool');
    assert.equal(clientIdOf('worker', 'worker-itinerary'), 'itinerary-worker');
    assert.equal(serviceIdOf('agent', 'echo-agent'), 'agent-echo');
    assert.equal(serviceIdOf('tool', 'tool-weather'), 'tool-weather');
    assert.equal(serviceIdOf('worker', 'itinerary-worker'), 'worker-itinerary');
  });

  it('leaves ids without the kind alone, and gives their service form the kind in front', () => {
    assert.equal(clientIdOf('agent', 'summarizer'), 'summarizer');
    assert.equal(serviceIdOf('agent', 'summarizer'), 'agent-summarizer');
    assert.equal(clientIdOf('agent', 'agent-'), 'agent-');
    assert.equal(clientIdOf('agent', 'agent-echo-agent'), 'agent-echo-agent');
  });
});
