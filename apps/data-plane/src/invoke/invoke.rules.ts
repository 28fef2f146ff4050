import { apiLimits } from '#proto';
import { InvalidArgumentError } from '#server';
import { invokeErrors } from './invoke.errors.js';

/** What every way of calling a function (sync, stream, async) checks first. */
export function checkCallInput(functionName: string, payload: Uint8Array): void {
  if (functionName === '') throw new InvalidArgumentError('function', 'is required');
  if (payload.length > apiLimits.payloadBytes) throw invokeErrors.payloadTooLarge(payload.length);
}
