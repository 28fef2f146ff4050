import { errorClassFor, type ErrorKind } from '#server';
import type { RegisteredKind } from '#storage';

/** Errors of the agent platform. */
export enum AgentsErrorCode {
  NotRegistered = 'NOT_REGISTERED',
  NoHealthyBackend = 'NO_HEALTHY_BACKEND',
  TaskNotFound = 'TASK_NOT_FOUND',
}

const kinds = {
  [AgentsErrorCode.NotRegistered]: 'not_found',
  [AgentsErrorCode.NoHealthyBackend]: 'unavailable',
  [AgentsErrorCode.TaskNotFound]: 'not_found',
} as const satisfies Record<AgentsErrorCode, ErrorKind>;

export class AgentsError extends errorClassFor(kinds) {}

export const agentsErrors = {
  notRegistered: (kind: RegisteredKind, id: string) =>
    new AgentsError(AgentsErrorCode.NotRegistered, `no ${kind} "${id.slice(0, 128)}" is registered`),
  noHealthyBackend: (kind: RegisteredKind, id: string, backends: string[]) =>
    new AgentsError(
      AgentsErrorCode.NoHealthyBackend,
      `${kind} "${id.slice(0, 128)}" has no healthy backend (${backends.join(', ') || 'none registered'})`,
    ),
  taskNotFound: (taskId: string) =>
    new AgentsError(AgentsErrorCode.TaskNotFound, `no task "${taskId.slice(0, 128)}" was processed here`),
};
