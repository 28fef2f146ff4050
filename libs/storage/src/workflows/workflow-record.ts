import type { AppliedOperation, CommitConflict } from '../state/state-record.js';

export const workflowStatuses = ['pending', 'running', 'sleeping', 'succeeded', 'failed', 'cancelled'] as const;
/** pending: waits to be claimed (new, or a retry); running: an owner runs it; sleeping: an owner waits for its timer. */
export type WorkflowStatus = (typeof workflowStatuses)[number];

export const finalWorkflowStatuses: readonly WorkflowStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface NewWorkflow {
  id: string;
  functionName: string;
  /** The version every run of it executes: resumed code must be the code that wrote the checkpoints. */
  functionVersion: number;
  /** JSON. */
  input: string;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  correlationId: string;
}

export interface WorkflowRecord {
  id: string;
  functionName: string;
  functionVersion: number;
  input: string;
  status: WorkflowStatus;
  /** JSON, once succeeded. */
  result: string | undefined;
  error: string;
  /** The run's attempt: 1, then one more after each failed run. */
  attempt: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** The node that runs it or last ran it. */
  ownerNode: string | undefined;
  /** When a sleeping workflow wakes, or a retry is due. */
  nextRunAt: Date | undefined;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | undefined;
}

/** One checkpoint: a finished step (its JSON result) or a durable sleep. */
export interface WorkflowStepRecord {
  seq: number;
  kind: 'step' | 'sleep';
  name: string;
  /** JSON; undefined for a sleep. */
  result: string | undefined;
  attempt: number;
  nodeId: string;
  startedAt: Date;
  finishedAt: Date | undefined;
  wakeAt: Date | undefined;
}

export const workflowEventKinds = [
  'workflow_start',
  'checkpoint',
  'step_failed',
  'owner_change',
  'sleep',
  'wake',
  'attempt_failed',
  'workflow_end',
] as const;
export type WorkflowEventKind = (typeof workflowEventKinds)[number];

export interface WorkflowEventRecord {
  id: number;
  workflowId: string;
  at: Date;
  kind: WorkflowEventKind;
  /** Step name, seq, attempt, node, from/to/reason, status, error, result, wakeAt, as the kind has them. */
  data: Record<string, string | number | null>;
}

/** A workflow leased to this process to run (or resume). */
export interface ClaimedWorkflow extends WorkflowRecord {
  /** The process that held it before, when the lease passed from another (its owner died or stopped renewing). */
  previousOwner: string | undefined;
}

export interface WorkflowFilter {
  functionName?: string;
  status?: WorkflowStatus;
  limit: number;
  offset: number;
}

/** A step's checkpoint as its run hands it over: with the state operations the step made. */
export interface StepCheckpoint {
  workflowId: string;
  seq: number;
  name: string;
  /** JSON. */
  result: string;
  attempt: number;
  nodeId: string;
  startedAt: Date;
  operations: readonly AppliedOperation[];
  /** Id of the state transaction the operations commit as. */
  txnId: string;
}

/** lease_lost: another process owns the workflow now (or it was cancelled); nothing was written. */
export type CheckpointOutcome = { written: true } | { written: false; reason: 'lease_lost' } | CommitConflict;
