import { AsyncLocalStorage } from 'node:async_hooks';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();
let enabled = false;

/** Turns the request context on or off for this process (NOVA_LOG_CALL_CONTEXT); off, calls run as they are. */
export function setRequestContextEnabled(on: boolean): void {
  enabled = on;
}

/** Runs `work` as part of the call `requestId`: every log line written meanwhile, sync or async, carries it. */
export function runWithRequestId<T>(requestId: string, work: () => T): T {
  return enabled ? storage.run({ requestId }, work) : work();
}

/** Runs `work` outside any call, for background work (timers, batches) that a call only happened to start. */
export function runDetached<T>(work: () => T): T {
  return enabled ? storage.exit(work) : work();
}

/** The id of the call being served here, or undefined outside one. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
