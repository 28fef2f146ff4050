import type { workflows } from '#proto';
import type { WorkflowEventRecord, WorkflowRecord, WorkflowStepRecord } from '#storage';
import type { WorkflowStart } from './workflows.service.js';

const iso = (date: Date | undefined): string => date?.toISOString() ?? '';

export function toWorkflowStart(request: workflows.StartWorkflowRequest, correlationId: string): WorkflowStart {
  return {
    functionName: request.function,
    version: request.version,
    input: request.input,
    workflowId: request.workflowId,
    maxAttempts: request.maxAttempts,
    correlationId,
  };
}

export function toWorkflowInfo(record: WorkflowRecord, steps: WorkflowStepRecord[] = []): workflows.WorkflowInfo {
  return {
    workflowId: record.id,
    function: record.functionName,
    version: record.functionVersion,
    status: record.status,
    ownerNode: record.ownerNode ?? '',
    input: record.input,
    result: record.result ?? '',
    error: record.error,
    attempt: record.attempt,
    maxAttempts: record.maxAttempts,
    steps: steps.map(toWorkflowStep),
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    finishedAt: iso(record.finishedAt),
    nextRunAt: record.status === 'sleeping' || record.status === 'pending' ? iso(record.nextRunAt) : '',
  };
}

function toWorkflowStep(step: WorkflowStepRecord): workflows.WorkflowStep {
  return {
    index: step.seq,
    name: step.name,
    kind: step.kind,
    attempt: step.attempt,
    node: step.nodeId,
    startedAt: iso(step.startedAt),
    finishedAt: iso(step.finishedAt),
    durationMs: step.finishedAt ? step.finishedAt.getTime() - step.startedAt.getTime() : 0,
    result: step.result ?? '',
    wakeAt: iso(step.wakeAt),
  };
}

export function toWorkflowEvent(event: WorkflowEventRecord): workflows.WorkflowEvent {
  const text = (name: string): string => {
    const value = event.data[name];
    return value === undefined || value === null ? '' : String(value);
  };
  const number = (name: string): number => {
    const value = event.data[name];
    return typeof value === 'number' ? value : Number(value ?? 0) || 0;
  };
  return {
    workflowId: event.workflowId,
    id: event.id,
    kind: event.kind,
    at: iso(event.at),
    step: text('step'),
    index: number('seq'),
    attempt: number('attempt'),
    node: text('node'),
    fromNode: text('from'),
    toNode: text('to'),
    reason: text('reason'),
    status: text('status'),
    error: text('error'),
    result: text('result'),
    wakeAt: text('wakeAt') === '' ? '' : new Date(text('wakeAt')).toISOString(),
    durationMs: number('durationMs'),
  };
}
