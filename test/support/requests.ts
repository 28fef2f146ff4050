import type { controlPlane } from '#proto';

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
    ...overrides,
  };
}
