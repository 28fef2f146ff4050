import { AsyncLocalStorage } from 'node:async_hooks';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work` as part of the call `requestId`: every log line written meanwhile, sync or async, carries it. */
export function runWithRequestId<T>(requestId: string, work: () => T): T {
  return storage.run({ requestId }, work);
}

/** Runs `work` outside any call, for background work (timers, batches) that a call only happened to start. */
export function runDetached<T>(work: () => T): T {
  return storage.exit(work);
}

/** The id of the call being served here, or undefined outside one. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
