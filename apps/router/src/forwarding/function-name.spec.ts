import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serviceDefinitionOf, serviceNames, type dataPlane } from '#proto';
import { functionNameOf } from './function-name.js';

const invoke = serviceDefinitionOf(serviceNames.dataPlane)['Invoke']!;
const encoded = (request: Partial<dataPlane.InvokeRequest>): Buffer => invoke.requestSerialize(request);

describe('functionNameOf', () => {
  it('reads field 1 of an InvokeRequest and drops a version or alias', () => {
    assert.equal(functionNameOf(encoded({ function: 'echo', payload: Buffer.from('{"a":1}') })), 'echo');
    assert.equal(functionNameOf(encoded({ function: 'echo:3' })), 'echo');
    assert.equal(functionNameOf(encoded({ function: 'échø:prod' })), 'échø');
  });

  it('finds the name after other fields, whatever their wire type', () => {
    const tail = encoded({ function: 'late' });
    // timeout_s (varint), a fixed64 and a fixed32 of unknown fields, then the name.
    const before = Buffer.from([0x18, 0x96, 0x01, 0x39, 1, 2, 3, 4, 5, 6, 7, 8, 0x45, 1, 2, 3, 4]);
    assert.equal(functionNameOf(Buffer.concat([before, tail])), 'late');
  });

  it('answers undefined for a request without a name or bytes that are not a message', () => {
    assert.equal(functionNameOf(Buffer.alloc(0)), undefined);
    assert.equal(functionNameOf(encoded({ payload: Buffer.from('x') })), undefined);
    assert.equal(functionNameOf(Buffer.from([0x0a, 0x05, 0x61])), undefined, 'length past the end');
    assert.equal(functionNameOf(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), undefined);
    assert.equal(functionNameOf(Buffer.from([0x0f])), undefined, 'wire type 7');
  });
});
