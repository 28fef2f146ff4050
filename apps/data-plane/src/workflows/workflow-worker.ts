import { randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  NotificationListener,
  WorkflowsRepository,
  notifyChannels,
  retryDelayMs,
  type ClaimedWorkflow,
  type WorkflowChange,
} from '#storage';
import { ClaimLoop, JsonLogger, NOVA_CONFIG, NodeMembership, ThrottledLog, type NovaConfig } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { InvocationRunner, summarize, type RunResult } from '../invoke/invocation-runner.js';
import { WorkflowRun } from './workflow-run.js';

/** How often this node looks for workflows that came due or lost their owner. */
const POLL_MS = 500;
/** Every this many polls, leases of dead nodes are made to run out at once. */
const SWEEP_EVERY_POLLS = 4;

/**
 * Runs workflows on this node: claims runnable ones under a lease (at most
 * NOVA_WORKFLOW_CONCURRENCY running at once), renews its leases while it
 * lives, resumes its sleeping workflows when their timers come, and takes
 * over the workflows of nodes that died once their leases run out. Woken by
 * NOTIFY on start and cancel, and by a short poll.
 */
@Injectable()
export class WorkflowWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new JsonLogger('workflows');
  private readonly pollFailures = new ThrottledLog(this.logger);
  /** This process's leases: its node id first, so that a dead node's workflows are found. */
  readonly owner: string;
  private readonly running = new Map<string, WorkflowRun>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly loop: ClaimLoop<ClaimedWorkflow>;
  private renewTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
    private readonly repository: WorkflowsRepository,
    private readonly catalog: FunctionCatalog,
    private readonly runner: InvocationRunner,
    private readonly listener: NotificationListener,
    @Optional() private readonly membership?: NodeMembership,
  ) {
    this.owner = `${config.cluster.nodeId}/${randomUUID().slice(0, 8)}`;
    this.loop = new ClaimLoop({
      concurrency: config.workflows.concurrency,
      claim: (room) => this.repository.claim(this.owner, config.cluster.nodeId, room, this.leaseMs),
      run: (workflow) => this.runOnce(workflow),
      idOf: (workflow) => workflow.id,
      mayClaim: () => !this.membership?.draining,
      pollMs: POLL_MS,
      sweepEveryPolls: SWEEP_EVERY_POLLS,
      sweep: async () => {
        if ((await this.repository.expireLeasesOfDeadNodes()) > 0) this.loop.wake();
      },
      onError: (stage, error, workflow) => {
        if (stage === 'claim') this.pollFailures.write('warn', 'could not claim workflows', { error: error.message });
        else if (stage === 'sweep')
          this.pollFailures.write('warn', 'workflow lease sweep failed', { error: error.message });
        else this.logger.error('workflow run failed unexpectedly', { workflow: workflow?.id, error: error.stack });
      },
    });
  }

  private get leaseMs(): number {
    return this.config.workflows.leaseMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.workflows.concurrency === 0) return;
    this.unsubscribe = await this.listener.subscribe(notifyChannels.workflows, (payload) => this.onChange(payload));
    this.listener.onReconnect(() => this.loop.wake());
    // Renewed five times a lease: a missed renewal or two (a slow database) does not lose it.
    this.renewTimer = setInterval(() => {
      this.repository
        .renew(this.owner, this.leaseMs)
        .catch((error: Error) =>
          this.pollFailures.write('warn', 'workflow lease renewal failed', { error: error.message }),
        );
    }, this.leaseMs / 5);
    this.renewTimer.unref();
    this.loop.start();
  }

  /**
   * Stops claiming and lets running runs finish; sleeping workflows are
   * given back, so another node resumes them when they wake.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const stopped = this.loop.stop();
    this.unsubscribe?.();
    for (const timer of this.timers.values()) clearTimeout(timer);
    await stopped;
    clearInterval(this.renewTimer);
    await Promise.all(
      [...this.timers.keys()].map((id) =>
        this.repository
          .release(this.owner, id)
          .catch((error: Error) =>
            this.logger.warn('could not give a sleeping workflow back', { workflow: id, error: error.message }),
          ),
      ),
    );
    this.timers.clear();
  }

  private onChange(payload: string): void {
    let change: WorkflowChange;
    try {
      change = JSON.parse(payload) as WorkflowChange;
    } catch {
      return;
    }
    if (change.op === 'started') return this.loop.wake();
    const run = this.running.get(change.id);
    if (run) {
      this.logger.info('workflow cancelled; stopping its run', { workflow: change.id });
      run.interrupt({ kind: 'lost', why: 'it was cancelled' });
    }
    const timer = this.timers.get(change.id);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(change.id);
    }
  }

  /** One run: from the start of the handler, replaying the workflow's checkpoints, to its end or its next sleep. */
  private async runOnce(workflow: ClaimedWorkflow): Promise<void> {
    const timer = this.timers.get(workflow.id);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(workflow.id);
    }
    if (workflow.previousOwner) {
      this.logger.info('took over a workflow', { workflow: workflow.id, from: workflow.previousOwner });
    }
    try {
      await this.runFromHistory(workflow);
    } finally {
      this.running.delete(workflow.id);
    }
  }

  private async runFromHistory(workflow: ClaimedWorkflow): Promise<void> {
    const abort = new AbortController();
    const history = await this.repository.steps(workflow.id);
    const run = new WorkflowRun(this.repository, workflow, this.owner, this.config.cluster.nodeId, history, () =>
      abort.abort(),
    );
    this.running.set(workflow.id, run);
    let record;
    try {
      record = await this.catalog.resolve(workflow.functionName, workflow.functionVersion);
    } catch (error) {
      await this.fail(workflow, `${(error as Error).name}: ${(error as Error).message}`, false);
      return;
    }
    const result = await this.runner.run(record, {
      requestId: `${workflow.id}/${workflow.attempt}`,
      payload: Buffer.from(workflow.input),
      metadata: { attempt: String(workflow.attempt), workflow_id: workflow.id },
      deadline: Date.now() + record.timeoutS * 1000,
      signal: abort.signal,
      workflow: { id: workflow.id, handlerFor: (state) => run.handlerFor(state) },
    });
    await this.settle(workflow, run, result);
  }

  private async settle(workflow: ClaimedWorkflow, run: WorkflowRun, result: RunResult): Promise<void> {
    const interruption = run.interruption;
    if (interruption?.kind === 'suspended') {
      if (await this.repository.suspend(this.owner, workflow.id, interruption.wakeAt)) {
        this.wakeAt(workflow.id, interruption.wakeAt);
      }
      return;
    }
    if (interruption?.kind === 'lost') return;
    if (interruption?.kind === 'nondeterministic') return void (await this.fail(workflow, interruption.error, false));
    const { error, output } = summarize(result);
    if (error !== '') return void (await this.fail(workflow, error, true));
    if (run.unvisited > 0) {
      const message =
        `NonDeterministicWorkflow: the run of workflow "${workflow.id}" ended with ${run.unvisited} checkpoint(s) ` +
        'of its history never asked for; a workflow must ask for its steps in the same order on every run';
      return void (await this.fail(workflow, message, false));
    }
    const ended = await this.repository.finish(this.owner, workflow.id, {
      status: 'succeeded',
      result: asJson(output),
    });
    if (ended) this.logger.info('workflow succeeded', { workflow: workflow.id, attempt: workflow.attempt });
  }

  /** A failed run: another attempt after the backoff when one is left and retrying can help, else the end. */
  private async fail(workflow: ClaimedWorkflow, error: string, retryable: boolean): Promise<void> {
    if (retryable && workflow.attempt < workflow.maxAttempts) {
      const delay = retryDelayMs(workflow.attempt, workflow.backoffBaseMs, workflow.backoffMaxMs);
      await this.repository.retry(this.owner, workflow.id, error, new Date(Date.now() + delay));
      this.logger.info('workflow run failed; it will run again', {
        workflow: workflow.id,
        attempt: workflow.attempt,
        error: error.slice(0, 200),
      });
      return;
    }
    if (await this.repository.finish(this.owner, workflow.id, { status: 'failed', error })) {
      this.logger.info('workflow failed', {
        workflow: workflow.id,
        attempt: workflow.attempt,
        error: error.slice(0, 200),
      });
    }
  }

  /** Resumes one of this node's sleeping workflows when its timer comes (the poll would find it too, a little later). */
  private wakeAt(id: string, at: Date): void {
    if (this.loop.stopping) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(id);
        this.loop.wake();
      },
      Math.min(Math.max(0, at.getTime() - Date.now()), 2 ** 31 - 1),
    );
    timer.unref();
    this.timers.set(id, timer);
  }
}

/** A handler's output as the workflow's JSON result: JSON as it is, other bytes as a JSON string. */
function asJson(output: Buffer): string {
  if (output.length === 0) return 'null';
  const text = output.toString('utf8');
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}
