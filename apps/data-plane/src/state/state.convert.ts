import type { statehouse } from '#proto';
import type { StateEntryRecord, StateEvent, StateValue } from '#storage';
import type { StateOperation } from './state.service.js';

// Between statehouse.v1's messages and the state feature's own types.
// Struct values arrive as plain objects (ts-proto's wrapper for protobufjs).

export function toWrite(request: statehouse.WriteRequest): StateOperation {
  return {
    txnId: request.txnId,
    namespace: request.namespace,
    agentId: request.agentId,
    key: request.key,
    kind: 'write',
    value: request.value ?? undefined,
    expectedVersion: request.expectedVersion,
  };
}

export function toDelete(request: statehouse.DeleteRequest): StateOperation {
  return {
    txnId: request.txnId,
    namespace: request.namespace,
    agentId: request.agentId,
    key: request.key,
    kind: 'delete',
    value: undefined,
    expectedVersion: request.expectedVersion,
  };
}

export function toStateResponse(value: StateValue): statehouse.GetStateResponse {
  return {
    ...(value.value === undefined ? {} : { value: value.value }),
    version: value.version,
    commitTs: value.commitTs,
    exists: value.exists,
  };
}

export function toStateEntry(entry: StateEntryRecord): statehouse.StateEntry {
  return { key: entry.key, value: entry.value, version: entry.version, commitTs: entry.commitTs };
}

export function toReplayEvent(event: StateEvent): statehouse.ReplayEvent {
  return {
    txnId: event.txnId,
    commitTs: event.commitTs,
    operations: event.operations.map((op) => ({
      key: op.key,
      ...(op.value === undefined ? {} : { value: op.value }),
      version: op.version,
    })),
  };
}
