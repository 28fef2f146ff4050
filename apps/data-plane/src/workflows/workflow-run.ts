import { randomUUID } from 'node:crypto';
import type { ClaimedWorkflow, WorkflowStepRecord, WorkflowsRepository } from '#storage';
import { DomainError, InvalidArgumentError, JsonLogger } from '#server';
import type { StateAnswer, StateHandler } from '../pool/instance.js';
import { MAX_SLEEP_SECONDS, type StateRequest, type WorkflowRequest } from '../pool/instance-protocol.js';
import type { FunctionStateSession } from '../state/function-state.js';
import { stateErrors } from '../state/state.errors.js';

const logger = new JsonLogger('workflow');

/**
 * How a run ended other than by its handler's answer: suspended (a durable
 * sleep: the owner resumes it at wakeAt), lost (its lease passed to another
 * node, or it was cancelled: nothing more is written), or non-deterministic
 * (its code asked for steps in another order than its history holds).
 */
export type RunInterruption =
  { kind: 'suspended'; wakeAt: Date } | { kind: 'lost'; why: string } | { kind: 'nondeterministic'; error: string };

/** Codes the bootstraps turn into WorkflowInterrupted, which unwinds the handler. */
const INTERRUPTED = 'workflow_interrupted';

/**
 * One run of a workflow on an instance: answers its step and sleep calls
 * from the workflow's history (replaying finished steps), checkpoints new
 * steps with their state effects in one fenced transaction, and records
 * durable sleeps. State calls outside steps go to the call's state session
 * as in any invocation.
 */
export class WorkflowRun implements StateHandler {
  interruption: RunInterruption | undefined;
  /** Steps and sleeps the code has asked for so far. */
  private asked = 0;
  private open: { seq: number; name: string; startedAt: Date } | undefined;
  private state!: FunctionStateSession;

  constructor(
    private readonly repository: WorkflowsRepository,
    readonly workflow: ClaimedWorkflow,
    private readonly owner: string,
    private readonly nodeId: string,
    private readonly history: WorkflowStepRecord[],
    /** Stops the instance at once (the run is lost or broken). */
    private readonly stop: () => void,
  ) {}

  /** Steps of the history the code never asked for: a run that ends with some left did not replay its history. */
  get unvisited(): number {
    return this.history.length - this.asked;
  }

  handlerFor(state: FunctionStateSession): StateHandler {
    this.state = state;
    return this;
  }

  /** Ends the run from outside (the workflow was cancelled): its calls are refused and its instance stopped. */
  interrupt(interruption: RunInterruption): void {
    this.interruption ??= interruption;
    this.stop();
  }

  async handle(request: StateRequest | WorkflowRequest, body: Buffer): Promise<StateAnswer> {
    if (request.t === 'state') return this.state.handle(request, body);
    const { seq } = request;
    try {
      if (this.interruption) return this.interrupted(seq);
      switch (request.op) {
        case 'step_begin':
          return this.beginStep(seq, request.name ?? '');
        case 'step_end':
          return await this.endStep(seq, request.name ?? '', body);
        case 'step_fail':
          return await this.failStep(seq, request.name ?? '', request.error ?? '');
        case 'sleep':
          return await this.sleep(seq, request.seconds ?? 0);
      }
    } catch (error) {
      if (error instanceof DomainError) return refusal(seq, error.kind, error.message);
      logger.error('a workflow call failed', {
        workflow: this.workflow.id,
        op: request.op,
        error: (error as Error).message,
      });
      return refusal(seq, 'internal', 'the workflow store failed; see the node log');
    }
  }

  private beginStep(seq: number, name: string): StateAnswer {
    if (this.open) {
      throw new InvalidArgumentError('step', `step "${this.open.name}" is still running: steps run one at a time`);
    }
    const index = this.asked++;
    const recorded = this.history[index];
    if (recorded) {
      if (recorded.kind !== 'step' || recorded.name !== name) return this.nondeterministic(seq, index, recorded, name);
      return {
        header: { t: 'state_reply', seq, ok: true, replay: true },
        body: Buffer.from(recorded.result ?? 'null'),
      };
    }
    this.open = { seq: index, name, startedAt: new Date() };
    this.state.beginStep();
    return { header: { t: 'state_reply', seq, ok: true, replay: false } };
  }

  private async endStep(seq: number, name: string, body: Buffer): Promise<StateAnswer> {
    const open = this.takeOpen(name);
    const result = body.toString('utf8');
    try {
      JSON.parse(result);
    } catch {
      await this.state.abandonStep();
      throw new InvalidArgumentError('result', `step "${name}" returned something that is not JSON`);
    }
    const written = await this.state.finishStep((held, operations) =>
      this.repository.checkpoint(
        this.owner,
        {
          workflowId: this.workflow.id,
          seq: open.seq,
          name,
          result,
          attempt: this.workflow.attempt,
          nodeId: this.nodeId,
          startedAt: open.startedAt,
          operations,
          txnId: randomUUID(),
        },
        held,
      ),
    );
    if ('conflict' in written) {
      const { key, expected, actual } = written.conflict;
      // The step's state reads no longer hold: the step failed and wrote nothing; its code sees a ConflictError.
      this.asked = open.seq;
      const error = stateErrors.conflict(key, expected, actual);
      return refusal(seq, error.kind, `step "${name}": ${error.message}`);
    }
    if (!written.written) return this.lose(seq, 'its lease passed to another node');
    this.history[open.seq] = {
      seq: open.seq,
      kind: 'step',
      name,
      result,
      attempt: this.workflow.attempt,
      nodeId: this.nodeId,
      startedAt: open.startedAt,
      finishedAt: new Date(),
      wakeAt: undefined,
    };
    return { header: { t: 'state_reply', seq, ok: true } };
  }

  private async failStep(seq: number, name: string, error: string): Promise<StateAnswer> {
    const open = this.takeOpen(name);
    await this.state.abandonStep();
    // The step may run again later in this run (the code caught the error): it takes the same place.
    this.asked = open.seq;
    await this.repository.stepFailed(this.workflow.id, {
      seq: open.seq,
      name,
      attempt: this.workflow.attempt,
      nodeId: this.nodeId,
      error,
    });
    return { header: { t: 'state_reply', seq, ok: true } };
  }

  private async sleep(seq: number, seconds: number): Promise<StateAnswer> {
    if (this.open) throw new InvalidArgumentError('sleep', `step "${this.open.name}" is still running`);
    if (seconds > MAX_SLEEP_SECONDS) {
      throw new InvalidArgumentError('seconds', `a workflow sleeps at most ${MAX_SLEEP_SECONDS} s`);
    }
    const index = this.asked++;
    const recorded = this.history[index];
    if (recorded && recorded.kind !== 'sleep') return this.nondeterministic(seq, index, recorded, 'sleep');
    const wakeAt = recorded?.wakeAt ?? new Date(Date.now() + seconds * 1000);
    if (!recorded) {
      const slept = await this.repository.sleep(this.owner, {
        workflowId: this.workflow.id,
        seq: index,
        attempt: this.workflow.attempt,
        nodeId: this.nodeId,
        wakeAt,
      });
      if (!slept) return this.lose(seq, 'its lease passed to another node');
      this.history[index] = {
        seq: index,
        kind: 'sleep',
        name: 'sleep',
        result: undefined,
        attempt: this.workflow.attempt,
        nodeId: this.nodeId,
        startedAt: new Date(),
        finishedAt: undefined,
        wakeAt,
      };
    }
    if (wakeAt.getTime() > Date.now()) {
      // The instance is freed: the owner resumes the workflow when the timer comes.
      this.interruption = { kind: 'suspended', wakeAt };
      return this.interrupted(seq);
    }
    if (!this.history[index]!.finishedAt) {
      if (!(await this.repository.wake(this.owner, this.workflow.id, index, this.nodeId))) {
        return this.lose(seq, 'its lease passed to another node');
      }
      this.history[index]!.finishedAt = new Date();
    }
    return { header: { t: 'state_reply', seq, ok: true } };
  }

  private takeOpen(name: string): { seq: number; name: string; startedAt: Date } {
    const open = this.open;
    if (!open || open.name !== name) throw new InvalidArgumentError('step', `step "${name}" is not running`);
    this.open = undefined;
    return open;
  }

  private nondeterministic(seq: number, index: number, recorded: WorkflowStepRecord, asked: string): StateAnswer {
    const was = recorded.kind === 'sleep' ? 'a sleep' : `step "${recorded.name}"`;
    const now = asked === 'sleep' ? 'a sleep' : `step "${asked}"`;
    const error =
      `NonDeterministicWorkflow: checkpoint ${index} of workflow "${this.workflow.id}" is ${was}, ` +
      `but the resumed code asked for ${now}; a workflow must ask for its steps in the same order on every run`;
    this.interrupt({ kind: 'nondeterministic', error });
    return this.interrupted(seq);
  }

  private lose(seq: number, why: string): StateAnswer {
    this.interrupt({ kind: 'lost', why });
    return this.interrupted(seq);
  }

  private interrupted(seq: number): StateAnswer {
    const interruption = this.interruption!;
    const message =
      interruption.kind === 'suspended'
        ? `the workflow sleeps until ${interruption.wakeAt.toISOString()}`
        : interruption.kind === 'lost'
          ? `the workflow stopped here: ${interruption.why}`
          : interruption.error;
    return refusal(seq, INTERRUPTED, message);
  }
}

function refusal(seq: number, code: string, error: string): StateAnswer {
  return { header: { t: 'state_reply', seq, ok: false, code, error } };
}
