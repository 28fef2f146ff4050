/**
 * Nova's TypeScript SDK: typed, promise-based clients whose public surface
 * holds no gRPC types (errors carry the status name as a string).
 */
export {
  AuthError,
  ConflictError,
  ConnectionError,
  InvalidArgumentError,
  NotFoundError,
  NovaError,
  TransactionError,
} from './errors.js';
export {
  Statehouse,
  Transaction,
  type ClientOptions,
  type JsonObject,
  type JsonValue,
  type OperationOptions,
  type ReplayEvent,
  type ReplayOptions,
  type StateEntry,
  type StateResult,
  type StatehouseOptions,
  type TransactionOptions,
} from './statehouse.js';
