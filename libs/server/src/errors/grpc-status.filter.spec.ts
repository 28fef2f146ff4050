import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { DomainError, InvalidArgumentError, toGrpcStatus, type ErrorKind } from './domain-error.js';
import { statusErrorFor } from './grpc-status.filter.js';

describe('error to status mapping', () => {
  it('maps every domain error kind to its own status code', () => {
    const kinds: ErrorKind[] = [
      'invalid_argument',
      'not_found',
      'already_exists',
      'failed_precondition',
      'unauthenticated',
      'permission_denied',
      'resource_exhausted',
      'deadline_exceeded',
      'unavailable',
      'unimplemented',
    ];
    const codes = kinds.map(toGrpcStatus);
    assert.equal(new Set(codes).size, kinds.length);
    assert.ok(!codes.includes(status.OK) && !codes.includes(status.INTERNAL) && !codes.includes(status.UNKNOWN));
    assert.equal(toGrpcStatus('not_found'), status.NOT_FOUND);
  });

  it('keeps the message of domain errors', () => {
    assert.deepEqual(statusErrorFor(new InvalidArgumentError('memory_mb', 'must be 128 to 10240'), 'r1'), {
      code: status.INVALID_ARGUMENT,
      details: 'memory_mb: must be 128 to 10240',
    });
    assert.deepEqual(statusErrorFor(new DomainError('not_found', 'function "x" not found'), 'r1'), {
      code: status.NOT_FOUND,
      details: 'function "x" not found',
    });
  });

  it('hides everything else behind INTERNAL with the request id', () => {
    const leaked = new Error('password authentication failed for user "nova" at 10.0.0.5');
    assert.deepEqual(statusErrorFor(leaked, 'req-7'), {
      code: status.INTERNAL,
      details: 'internal error (request id req-7)',
    });
    assert.deepEqual(statusErrorFor('a string', ''), { code: status.INTERNAL, details: 'internal error' });
  });
});
