import type { NewFunction } from '#storage';

/** A function to store through FunctionsRepository (integration specs): a Python echo unless overridden. */
export function newFunction(name: string, overrides: Partial<NewFunction> = {}): NewFunction {
  return {
    name,
    runtime: 'python',
    handler: 'handler',
    mode: 'process',
    memoryMb: 128,
    timeoutS: 30,
    minReplicas: 0,
    maxReplicas: 10,
    envVars: {},
    network: 'none',
    concurrency: 1,
    code: Buffer.from(`def handler(e): return '${name}'\n`),
    ...overrides,
  };
}
