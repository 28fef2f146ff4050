import { InvalidArgumentError } from '#server';
import type { JsonObject, StateKey } from '#storage';

export const stateLimits = {
  keyBytes: 1024,
  valueBytes: 1024 * 1024,
  operationsPerTransaction: 1000,
  defaultTimeoutMs: 30_000,
  maxTimeoutMs: 10 * 60 * 1000,
} as const;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id this store could have handed out; anything else is unknown without a query. */
export function isTransactionId(txnId: string): boolean {
  return uuidPattern.test(txnId);
}

export function checkTransactionId(txnId: string): string {
  if (txnId === '') throw new InvalidArgumentError('txn_id', 'is required');
  return txnId;
}

export function checkAgentId(agentId: string): string {
  if (agentId === '') throw new InvalidArgumentError('agent_id', 'is required');
  if (Buffer.byteLength(agentId) > stateLimits.keyBytes) {
    throw new InvalidArgumentError('agent_id', `must be at most ${stateLimits.keyBytes} bytes`);
  }
  return agentId;
}

export function checkStateKey(key: StateKey): StateKey {
  checkAgentId(key.agentId);
  if (key.key === '') throw new InvalidArgumentError('key', 'is required');
  const bytes = Buffer.byteLength(key.key);
  if (bytes > stateLimits.keyBytes) {
    throw new InvalidArgumentError('key', `is ${bytes} bytes; at most ${stateLimits.keyBytes} (1 KiB)`);
  }
  if (key.key.includes('\0')) throw new InvalidArgumentError('key', 'cannot contain a NUL character');
  if (Buffer.byteLength(key.namespace) > stateLimits.keyBytes) {
    throw new InvalidArgumentError('namespace', `must be at most ${stateLimits.keyBytes} bytes`);
  }
  return key;
}

/** A Write's value: present, and at most 1 MiB as JSON. */
export function checkValue(value: JsonObject | undefined): JsonObject {
  if (value === undefined) throw new InvalidArgumentError('value', 'is required (a JSON object)');
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > stateLimits.valueBytes) {
    throw new InvalidArgumentError('value', `is ${bytes} bytes as JSON; at most ${stateLimits.valueBytes} (1 MiB)`);
  }
  return value;
}

/** timeout_ms: absent means 30 s; at most 10 minutes. */
export function checkTimeoutMs(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined || timeoutMs === 0) return stateLimits.defaultTimeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > stateLimits.maxTimeoutMs) {
    throw new InvalidArgumentError(
      'timeout_ms',
      `must be 1 to ${stateLimits.maxTimeoutMs} (10 minutes; got ${timeoutMs})`,
    );
  }
  return timeoutMs;
}
