import { Inject, Injectable } from '@nestjs/common';
import { NodesRepository, type WorkflowRecord } from '#storage';
import { DomainError, InvalidArgumentError, NOVA_CONFIG, type NovaConfig } from '#server';
import { WorkflowsService, isFinal } from '../workflows/workflows.service.js';
import { raftoralErrors } from './raftoral.errors.js';

/** Nova's one execution cluster: the database every node shares. */
export const EXECUTION_CLUSTER_ID = '1';
/** WaitForWorkflowCompletion's default, as Raftoral's clients expect a long wait. */
const DEFAULT_WAIT_S = 300;

export interface RunOutcome {
  success: boolean;
  resultJson: string;
  error: string;
}

export interface WorkflowRun {
  workflowType: string;
  version: number;
  inputJson: string;
}

/**
 * Raftoral's management API over Nova's workflows and membership. Its way
 * with errors is kept: a workflow that cannot start or that fails is
 * success=false with the error; status codes are for malformed requests.
 */
@Injectable()
export class RaftoralService {
  constructor(
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
    private readonly workflows: WorkflowsService,
    private readonly nodes: NodesRepository,
  ) {}

  async runAsync(run: WorkflowRun, correlationId: string): Promise<{ workflowId: string; error: string }> {
    try {
      const { workflow } = await this.startOf(run, correlationId);
      return { workflowId: workflow.id, error: '' };
    } catch (error) {
      return { workflowId: '', error: this.refusalOf(error) };
    }
  }

  /** Starts the workflow and waits for its end, until `deadline` (the call's) when it has one. */
  async runSync(
    run: WorkflowRun,
    correlationId: string,
    deadline: number | undefined,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    let workflow: WorkflowRecord;
    try {
      workflow = (await this.startOf(run, correlationId)).workflow;
    } catch (error) {
      return { success: false, resultJson: '', error: this.refusalOf(error) };
    }
    const waitMs = deadline === undefined ? DEFAULT_WAIT_S * 1000 : Math.max(0, deadline - Date.now() - 50);
    return outcomeOf(await this.workflows.waitForEnd(workflow.id, waitMs, signal), waitMs);
  }

  async wait(
    request: { workflowId: string; timeoutSeconds: number },
    deadline: number | undefined,
    signal: AbortSignal,
  ): Promise<RunOutcome> {
    if (request.workflowId === '') throw new InvalidArgumentError('workflow_id', 'is required');
    let waitMs = (request.timeoutSeconds === 0 ? DEFAULT_WAIT_S : request.timeoutSeconds) * 1000;
    if (deadline !== undefined) waitMs = Math.min(waitMs, Math.max(0, deadline - Date.now() - 50));
    try {
      return outcomeOf(await this.workflows.waitForEnd(request.workflowId, waitMs, signal), waitMs);
    } catch (error) {
      return { success: false, resultJson: '', error: this.refusalOf(error) };
    }
  }

  /**
   * This node as Raftoral's Discover describes one: its number and address,
   * the highest number known, and the oldest live control-plane node in the
   * "management leader" fields (Nova elects no leader: that node is where
   * membership is managed). Voter fields are zero: nobody votes.
   */
  async discover(): Promise<{
    nodeId: number;
    highestKnownNodeId: number;
    address: string;
    managementLeaderNodeId: number;
    managementLeaderAddress: string;
  }> {
    const [all, highest] = await Promise.all([this.nodes.list(), this.nodes.highestRaftId()]);
    const self = all.find((node) => node.id === this.config.cluster.nodeId);
    const leader = all
      .filter((node) => node.status === 'live' && node.planes.includes('control-plane'))
      .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.raftId - b.raftId)[0];
    return {
      nodeId: self?.raftId ?? 0,
      highestKnownNodeId: highest,
      address: this.config.cluster.advertiseAddr,
      managementLeaderNodeId: leader?.raftId ?? 0,
      managementLeaderAddress: leader?.address ?? '',
    };
  }

  async addNode(nodeId: number, address: string): Promise<{ success: boolean; error: string }> {
    if (!Number.isSafeInteger(nodeId) || nodeId < 1) throw new InvalidArgumentError('node_id', 'must be 1 or more');
    if (!/^[^\s:]+:\d{1,5}$/.test(address) && !/^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(address)) {
      throw new InvalidArgumentError('address', 'must be host:port');
    }
    const added = await this.nodes.addStatic(nodeId, address);
    if (added.added) return { success: true, error: '' };
    return { success: false, error: `node number ${nodeId} already belongs to node "${added.takenBy}"` };
  }

  sendMessage(): never {
    throw raftoralErrors.noRaftLog();
  }

  private startOf(run: WorkflowRun, correlationId: string): ReturnType<WorkflowsService['start']> {
    if (run.workflowType === '') throw new InvalidArgumentError('workflow_type', 'is required');
    return this.workflows.start({
      functionName: run.workflowType,
      version: run.version,
      input: run.inputJson,
      workflowId: '',
      maxAttempts: 0,
      correlationId,
    });
  }

  /** A workflow that cannot start is the seed's success=false; a malformed request stays a status code. */
  private refusalOf(error: unknown): string {
    if (error instanceof InvalidArgumentError) throw error;
    if (error instanceof DomainError) return error.message;
    throw error;
  }
}

function outcomeOf(workflow: WorkflowRecord, waitedMs: number): RunOutcome {
  if (!isFinal(workflow.status)) {
    return {
      success: false,
      resultJson: '',
      error: `timed out after ${Math.round(waitedMs / 1000)} s waiting for workflow "${workflow.id}", which is still ${workflow.status}`,
    };
  }
  if (workflow.status === 'succeeded') return { success: true, resultJson: workflow.result ?? 'null', error: '' };
  if (workflow.status === 'cancelled')
    return { success: false, resultJson: '', error: `workflow "${workflow.id}" was cancelled` };
  return { success: false, resultJson: '', error: workflow.error };
}
