import { errorClassFor, type ErrorKind } from '#server';

/** statehouse.v1's failures, with the status codes of seed 002's table. */
export enum StateErrorCode {
  TxnNotFound = 'TXN_NOT_FOUND',
  TxnExpired = 'TXN_EXPIRED',
  TxnAlreadyCommitted = 'TXN_ALREADY_COMMITTED',
  TxnAborted = 'TXN_ABORTED',
  TooManyOperations = 'TOO_MANY_OPERATIONS',
  Conflict = 'VERSION_CONFLICT',
  VersionNotFound = 'VERSION_NOT_FOUND',
  /** Function code: too many state calls at once from one instance. */
  TooManyStateCalls = 'TOO_MANY_STATE_CALLS',
  /** Function code: a reply (keys, scan) larger than an instance may be sent. */
  ReplyTooLarge = 'REPLY_TOO_LARGE',
  /** Function code: the call's time ran out waiting for a key's lock or a transaction slot. */
  LockWaitExpired = 'LOCK_WAIT_EXPIRED',
  /** Function code: two transactions waited on each other's keys; PostgreSQL ended this one. */
  Deadlock = 'DEADLOCK',
  /** Function code: context.step or context.sleep in a call that is not a workflow's run. */
  NotAWorkflow = 'NOT_A_WORKFLOW',
}

const kinds = {
  [StateErrorCode.TxnNotFound]: 'not_found',
  [StateErrorCode.TxnExpired]: 'deadline_exceeded',
  [StateErrorCode.TxnAlreadyCommitted]: 'failed_precondition',
  [StateErrorCode.TxnAborted]: 'failed_precondition',
  [StateErrorCode.TooManyOperations]: 'invalid_argument',
  [StateErrorCode.Conflict]: 'aborted',
  [StateErrorCode.VersionNotFound]: 'not_found',
  [StateErrorCode.TooManyStateCalls]: 'resource_exhausted',
  [StateErrorCode.ReplyTooLarge]: 'resource_exhausted',
  [StateErrorCode.LockWaitExpired]: 'deadline_exceeded',
  [StateErrorCode.Deadlock]: 'aborted',
  [StateErrorCode.NotAWorkflow]: 'failed_precondition',
} as const satisfies Record<StateErrorCode, ErrorKind>;

export class StateError extends errorClassFor(kinds) {}

export const stateErrors = {
  txnNotFound: (txnId: string) =>
    new StateError(StateErrorCode.TxnNotFound, `transaction "${txnId.slice(0, 64)}" not found`),
  txnExpired: (txnId: string) =>
    new StateError(StateErrorCode.TxnExpired, `transaction "${txnId}" expired; begin a new one`),
  txnCommitted: (txnId: string) =>
    new StateError(StateErrorCode.TxnAlreadyCommitted, `transaction "${txnId}" is already committed`),
  txnAborted: (txnId: string) => new StateError(StateErrorCode.TxnAborted, `transaction "${txnId}" was aborted`),
  tooManyOperations: (limit: number) =>
    new StateError(StateErrorCode.TooManyOperations, `operations: a transaction holds at most ${limit}`),
  conflict: (key: string, expected: number, actual: number) =>
    new StateError(
      StateErrorCode.Conflict,
      `key "${key.slice(0, 200)}" is at version ${actual}, not the expected ${expected}; nothing was applied`,
    ),
  tooManyStateCalls: (limit: number) =>
    new StateError(StateErrorCode.TooManyStateCalls, `at most ${limit} state calls of one instance at a time`),
  replyTooLarge: (bytes: number, limit: number) =>
    new StateError(
      StateErrorCode.ReplyTooLarge,
      `the answer is ${bytes} bytes; at most ${limit} reach function code (narrow the prefix)`,
    ),
  lockWaitExpired: (what: string) =>
    new StateError(StateErrorCode.LockWaitExpired, `the call's time ran out waiting for ${what}`),
  deadlock: () =>
    new StateError(
      StateErrorCode.Deadlock,
      'two transactions waited on keys the other had read; this one was ended (re-run it)',
    ),
  notAWorkflow: () =>
    new StateError(
      StateErrorCode.NotAWorkflow,
      'context.step and context.sleep work only in a workflow (start the function with StartWorkflow)',
    ),
  versionNotFound: (key: string, version: number) =>
    new StateError(StateErrorCode.VersionNotFound, `key "${key.slice(0, 200)}" never had version ${version}`),
};
