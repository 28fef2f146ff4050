import { errorClassFor, type ErrorKind } from '#server';

export enum WorkflowErrorCode {
  NotFound = 'WORKFLOW_NOT_FOUND',
  /** The id names a workflow of another function. */
  IdTaken = 'WORKFLOW_ID_TAKEN',
  /** A runtime without a handler context (wasm) cannot checkpoint steps. */
  RuntimeCannotCheckpoint = 'RUNTIME_CANNOT_CHECKPOINT',
}

const kinds = {
  [WorkflowErrorCode.NotFound]: 'not_found',
  [WorkflowErrorCode.IdTaken]: 'already_exists',
  [WorkflowErrorCode.RuntimeCannotCheckpoint]: 'failed_precondition',
} as const satisfies Record<WorkflowErrorCode, ErrorKind>;

export class WorkflowError extends errorClassFor(kinds) {}

export const workflowErrors = {
  notFound: (id: string) => new WorkflowError(WorkflowErrorCode.NotFound, `workflow "${id.slice(0, 128)}" not found`),
  idTaken: (id: string, functionName: string) =>
    new WorkflowError(
      WorkflowErrorCode.IdTaken,
      `workflow "${id}" already exists as a workflow of function "${functionName}"`,
    ),
  runtimeCannotCheckpoint: (name: string, runtime: string) =>
    new WorkflowError(
      WorkflowErrorCode.RuntimeCannotCheckpoint,
      `function "${name}" runs on ${runtime}, which has no handler context: a workflow needs python or node`,
    ),
};
