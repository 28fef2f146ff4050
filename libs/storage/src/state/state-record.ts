/** A JSON value as google.protobuf.Struct carries it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Where a value lives: namespaces are separate key spaces, each agent has its own keys. */
export interface StateKey {
  namespace: string;
  agentId: string;
  key: string;
}

/** One Write (value set) or Delete (value undefined) staged in a transaction. */
export interface StagedOperation extends StateKey {
  value: JsonObject | undefined;
  /** The version the key must still have at commit; 0: no live value. */
  expectedVersion: number | undefined;
}

/** An operation applied by StateRepository.apply: a check writes nothing and only holds its key to a version. */
export type AppliedOperation = StateKey &
  (
    | { kind: 'write'; value: JsonObject; expectedVersion?: number }
    | { kind: 'delete'; expectedVersion?: number }
    | { kind: 'check'; expectedVersion: number }
  );

/** A key as GetState shows it; exists=false for a key never written or deleted. */
export interface StateValue {
  value: JsonObject | undefined;
  version: number;
  commitTs: number;
  exists: boolean;
}

export interface StateEntryRecord {
  key: string;
  value: JsonObject;
  version: number;
  commitTs: number;
}

/** One committed transaction's operations for one agent, as Replay streams them. */
export interface StateEvent {
  txnId: string;
  commitTs: number;
  operations: { key: string; value: JsonObject | undefined; version: number }[];
}

/** Why an operation on a transaction could not be done. */
export type TransactionProblem = 'unknown' | 'expired' | 'committed' | 'aborted' | 'too_many_operations';

export interface CommitConflict {
  conflict: StateKey & { expected: number; actual: number };
}
