import { status } from '@grpc/grpc-js';

/** The status a call ended with: OK, or the code and details of its error. */
export async function statusOf(call: Promise<unknown>): Promise<{ code: status; details: string }> {
  try {
    await call;
    return { code: status.OK, details: '' };
  } catch (error) {
    return error as { code: status; details: string };
  }
}

/** Only the status code a call ended with. */
export async function codeOf(call: Promise<unknown>): Promise<status> {
  return (await statusOf(call)).code;
}
