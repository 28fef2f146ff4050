import type { controlPlane, dataPlane } from '#proto';

export const helloPython = Buffer.from("def handler(event): return {'message': 'hello'}\n");

/** A valid CreateFunctionRequest (the seed's hello-world shape) with the given changes. */
export function createRequest(
  overrides: Partial<controlPlane.CreateFunctionRequest> = {},
): controlPlane.CreateFunctionRequest {
  return {
    name: 'fn',
    runtime: 'python',
    handler: 'handler',
    code: helloPython,
    memoryMb: 0,
    timeoutS: 0,
    envVars: {},
    mode: '',
    minReplicas: 0,
    maxReplicas: 0,
    network: '',
    concurrency: 0,
    ...overrides,
  };
}

/** An UpdateFunctionRequest that changes nothing, with the given changes. */
export function updateRequest(
  name: string,
  overrides: Partial<controlPlane.UpdateFunctionRequest> = {},
): controlPlane.UpdateFunctionRequest {
  return {
    name,
    memoryMb: 0,
    timeoutS: 0,
    envVars: {},
    minReplicas: 0,
    maxReplicas: 0,
    updateMask: [],
    network: '',
    handler: '',
    concurrency: 0,
    ...overrides,
  };
}

/** An InvokeRequest for the function with the payload, and the given changes. */
export function invokeRequest(
  fn: string,
  payload: Uint8Array,
  overrides: Partial<dataPlane.InvokeRequest> = {},
): dataPlane.InvokeRequest {
  return { function: fn, payload, timeoutS: 0, metadata: {}, version: 0, includeLog: false, ...overrides };
}

/** An InvokeAsyncRequest for the function with an empty object as payload, and the given changes. */
export function asyncRequest(
  fn: string,
  overrides: Partial<dataPlane.InvokeAsyncRequest> = {},
): dataPlane.InvokeAsyncRequest {
  return {
    function: fn,
    payload: Buffer.from('{}'),
    maxAttempts: 0,
    backoffBaseMs: 0,
    backoffMaxMs: 0,
    idempotencyKey: '',
    version: 0,
    ...overrides,
  };
}
