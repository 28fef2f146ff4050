import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { InvalidArgumentError } from './common.errors.js';
import { DomainError, type ErrorKind } from './domain-error.js';
import { statusErrorFor, toGrpcStatus } from './grpc-status.filter.js';

describe('error to status mapping', () => {
  it('maps every domain error kind to its own status code', () => {
    const kinds: ErrorKind[] = [
      'invalid_argument',
      'not_found',
      'already_exists',
      'failed_precondition',
      'aborted',
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

  it('answers UNAVAILABLE, never INTERNAL, while the database cannot be reached', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const wrapped = Object.assign(new Error('Query failed'), {
      driverError: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    });
    const severalAddresses = Object.assign(new AggregateError([refused, refused]), { code: undefined });
    for (const error of [refused, wrapped, severalAddresses, new Error('Connection terminated unexpectedly')]) {
      assert.deepEqual(statusErrorFor(error, 'req-9'), {
        code: status.UNAVAILABLE,
        details: 'the database is unreachable; try again (request id req-9)',
      });
    }
    const rejectedStatement = Object.assign(new Error('duplicate key value'), { code: '23505' });
    assert.equal(statusErrorFor(rejectedStatement, 'r').code, status.INTERNAL);
  });
});
