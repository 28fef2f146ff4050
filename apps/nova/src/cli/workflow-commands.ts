import type { Command } from 'commander';
import { Workflows, type JsonValue, type WorkflowEvent, type WorkflowInfo, type WorkflowStatus } from '#client';
import { withClient, integer, type ClientFlags } from './client-options.js';
import { shortDuration } from './node-commands.js';
import { localTime, printJson, printRecord, printTable } from './output.js';

type Flags = ClientFlags & { json?: boolean };

function withWorkflows<T>(command: Command, call: (workflows: Workflows) => Promise<T>): Promise<T> {
  return withClient(command, (options) => new Workflows(options), call);
}

function inputOf(text: string | undefined): JsonValue {
  if (text === undefined || text.trim() === '') return null;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new Error(`the input must be JSON (got ${JSON.stringify(text.slice(0, 60))})`);
  }
}

const json = (value: JsonValue | undefined): string => (value === undefined ? '' : JSON.stringify(value));

/** One event as a line of the live view. */
export function describeEvent(event: WorkflowEvent): string {
  const time = localTime(event.at);
  switch (event.kind) {
    case 'workflow_start':
      return `${time}  started`;
    case 'checkpoint':
      return `${time}  step ${event.index} "${event.step}" done on ${event.node} in ${event.durationMs} ms (attempt ${event.attempt})`;
    case 'step_failed':
      return `${time}  step ${event.index} "${event.step}" failed on ${event.node}: ${event.error}`;
    case 'sleep':
      return `${time}  sleeping until ${localTime(event.wakeAt)}`;
    case 'wake':
      return `${time}  woke on ${event.node}`;
    case 'owner_change':
      return `${time}  taken over by ${event.toNode} from ${event.fromNode} (${event.reason})`;
    case 'attempt_failed':
      return `${time}  attempt ${event.attempt} failed: ${event.error}`;
    case 'workflow_end':
      return `${time}  ${event.status}${event.status === 'succeeded' ? `: ${json(event.result)}` : event.error ? `: ${event.error}` : ''}`;
    default:
      return `${time}  ${event.kind}`;
  }
}

function printWorkflow(workflow: WorkflowInfo): void {
  printRecord({
    workflow_id: workflow.workflowId,
    function: `${workflow.function} (version ${workflow.version})`,
    status: workflow.status,
    owner: workflow.ownerNode || '-',
    attempt: `${workflow.attempt} of ${workflow.maxAttempts}`,
    input: json(workflow.input),
    ...(workflow.result !== undefined ? { result: json(workflow.result) } : {}),
    ...(workflow.error ? { error: workflow.error } : {}),
    ...(workflow.nextRunAt ? { next_run_at: localTime(workflow.nextRunAt) } : {}),
    created_at: localTime(workflow.createdAt),
    ...(workflow.finishedAt ? { finished_at: localTime(workflow.finishedAt) } : {}),
  });
  if (workflow.steps.length === 0) return;
  process.stdout.write('\n');
  printTable(
    ['#', 'STEP', 'NODE', 'ATTEMPT', 'TOOK', 'RESULT'],
    workflow.steps.map((step) => [
      String(step.index),
      step.kind === 'sleep' ? 'sleep' : step.name,
      step.node,
      String(step.attempt),
      step.kind === 'sleep' ? (step.finishedAt ? 'woke' : `until ${localTime(step.wakeAt)}`) : `${step.durationMs} ms`,
      step.kind === 'sleep' ? '' : json(step.result).slice(0, 60),
    ]),
  );
}

/** A workflow that ended without success makes the command fail. */
function exitFor(status: WorkflowStatus): void {
  if (status !== 'succeeded') process.exitCode = 2;
}

/** `nova workflows`: durable workflows (nova.v1.Workflows). */
export function registerWorkflowCommands(program: Command): void {
  const workflows = program.command('workflows').alias('workflow').description('durable workflows (nova.v1.Workflows)');

  workflows
    .command('run')
    .description('start FUNCTION as a workflow with a JSON input; prints its id, or with --wait follows it to its end')
    .argument('<function>')
    .argument('[input]', 'JSON')
    .option('--id <workflow-id>', 'an id of yours: starting the same id again is the same workflow')
    .option('--version <n>', 'that function version', integer('--version', 1))
    .option(
      '--max-attempts <n>',
      'failed runs before the workflow fails (1 to 10; 3 when left out)',
      integer('--max-attempts', 1),
    )
    .option('--wait', 'show its steps as they finish and wait for its end')
    .option('--json', 'print JSON')
    .action(
      async (
        functionName: string,
        input: string | undefined,
        flags: Flags & { id?: string; version?: number; maxAttempts?: number; wait?: boolean },
        command: Command,
      ) => {
        await withWorkflows(command, async (client) => {
          const started = await client.start(functionName, inputOf(input), {
            ...(flags.id ? { workflowId: flags.id } : {}),
            ...(flags.version ? { version: flags.version } : {}),
            ...(flags.maxAttempts ? { maxAttempts: flags.maxAttempts } : {}),
          });
          if (!flags.wait) {
            if (flags.json) return printJson(started);
            process.stdout.write(
              `${started.workflowId} ${started.created ? 'started' : `already exists (${started.status})`}\n`,
            );
            return;
          }
          if (!flags.json) process.stderr.write(`workflow ${started.workflowId}\n`);
          for await (const event of client.watch(started.workflowId)) {
            if (!flags.json) process.stderr.write(describeEvent(event) + '\n');
          }
          const ended = await client.get(started.workflowId);
          if (flags.json) printJson(ended);
          else if (ended.status === 'succeeded') process.stdout.write(json(ended.result) + '\n');
          exitFor(ended.status);
        });
      },
    );

  workflows
    .command('get')
    .description('one workflow with its steps')
    .argument('<workflow-id>')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: Flags, command: Command) => {
      const workflow = await withWorkflows(command, (client) => client.get(id));
      if (flags.json) return printJson(workflow);
      printWorkflow(workflow);
    });

  workflows
    .command('ls', { isDefault: true })
    .alias('list')
    .description('workflows, newest first')
    .option('--function <name>', "only this function's workflows")
    .option('--status <status>', 'only pending, running, sleeping, succeeded, failed or cancelled ones')
    .option('--limit <n>', 'at most this many (50 when left out)', integer('--limit', 1))
    .option('--offset <n>', 'skip this many', integer('--offset', 0))
    .option('--json', 'print JSON')
    .action(
      async (
        flags: Flags & { function?: string; status?: string; limit?: number; offset?: number },
        command: Command,
      ) => {
        const page = await withWorkflows(command, (client) =>
          client.list({
            ...(flags.function ? { function: flags.function } : {}),
            ...(flags.status ? { status: flags.status as WorkflowStatus } : {}),
            ...(flags.limit ? { limit: flags.limit } : {}),
            ...(flags.offset ? { offset: flags.offset } : {}),
          }),
        );
        if (flags.json) return printJson(page);
        printTable(
          ['WORKFLOW', 'FUNCTION', 'STATUS', 'ATTEMPT', 'OWNER', 'AGE'],
          page.workflows.map((workflow) => [
            workflow.workflowId,
            workflow.function,
            workflow.status,
            String(workflow.attempt),
            workflow.ownerNode || '-',
            shortDuration(Date.now() - Date.parse(workflow.createdAt)),
          ]),
        );
        if (page.total > page.workflows.length) {
          process.stdout.write(`(${page.workflows.length} of ${page.total}; --limit and --offset page through)\n`);
        }
      },
    );

  workflows
    .command('cancel')
    .description('end a workflow that has not ended; it runs no more')
    .argument('<workflow-id>')
    .action(async (id: string, _flags: Flags, command: Command) => {
      const status = await withWorkflows(command, (client) => client.cancel(id));
      process.stdout.write(status === 'cancelled' ? `cancelled ${id}\n` : `${id} had already ${status}\n`);
    });

  workflows
    .command('watch')
    .description('a live view of the workflow: its steps as they finish, sleeps, owner changes, its end')
    .argument('<workflow-id>')
    .option('--json', 'print each event as a JSON line')
    .action(async (id: string, flags: Flags, command: Command) => {
      await withWorkflows(command, async (client) => {
        let last: WorkflowEvent | undefined;
        for await (const event of client.watch(id)) {
          last = event;
          process.stdout.write((flags.json ? JSON.stringify(event) : describeEvent(event)) + '\n');
        }
        if (last?.kind === 'workflow_end') exitFor(last.status as WorkflowStatus);
      });
    });
}
