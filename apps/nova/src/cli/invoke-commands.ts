import type { Command } from 'commander';
import { createDataPlaneClient, type dataPlane } from '#proto';
import { clientOptions, type ClientFlags } from './client-options.js';
import { printJson, printRecord, printTable } from './output.js';

type DataPlaneClient = ReturnType<typeof createDataPlaneClient>;

async function withDataPlane<T>(command: Command, call: (dp: DataPlaneClient) => Promise<T>): Promise<T> {
  const dp = createDataPlaneClient(clientOptions(command.optsWithGlobals<ClientFlags>(), process.env));
  try {
    return await call(dp);
  } finally {
    dp.close();
  }
}

function integer(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number (got "${value}")`);
    return Number(value);
  };
}

function printInvocations(page: dataPlane.ListInvocationsResponse): void {
  printTable(
    ['REQUEST ID', 'FUNCTION', 'VERSION', 'RESULT', 'DURATION', 'COLD', 'CREATED', 'ERROR'],
    page.invocations.map((inv) => [
      inv.id,
      inv.functionName,
      String(inv.version),
      inv.success ? 'ok' : 'failed',
      `${inv.durationMs} ms`,
      inv.coldStart ? 'yes' : 'no',
      inv.createdAt,
      inv.error.split('\n')[0]?.slice(0, 80) ?? '',
    ]),
  );
  process.stdout.write(`${page.invocations.length} of ${page.total} invocations\n`);
}

export function registerInvokeCommands(program: Command): void {
  program
    .command('invoke')
    .description('run a function and print its output')
    .argument('<name>')
    .argument('[payload]', 'the event, usually JSON', '')
    .option('--timeout <s>', 'seconds, at most the function timeout', integer('--timeout'))
    .option('-v, --verbose', 'also print request id, duration and cold start (on stderr)')
    .option('--json', 'print the whole response as JSON')
    .action(
      async (
        name: string,
        payload: string,
        flags: { timeout?: number; verbose?: boolean; json?: boolean },
        command: Command,
      ) => {
        const response = await withDataPlane(command, (dp) =>
          dp.invoke({ function: name, payload: Buffer.from(payload), timeoutS: flags.timeout ?? 0, metadata: {} }),
        );
        const output = Buffer.from(response.output);
        if (flags.json) {
          return printJson({ ...response, output: output.toString('utf8') });
        }
        if (flags.verbose) {
          process.stderr.write(
            `request id: ${response.requestId}\nduration:   ${response.durationMs} ms\ncold start: ${response.coldStart}\n`,
          );
        }
        if (response.error) {
          process.stderr.write(`function error: ${response.error}\n`);
          process.exitCode = 2;
          return;
        }
        process.stdout.write(output);
        if (output.length > 0 && output[output.length - 1] !== 0x0a) process.stdout.write('\n');
      },
    );

  program
    .command('invocations')
    .description('list invocations, newest first')
    .argument('[name]', 'only this function')
    .option('--limit <n>', 'page size (default 100, at most 1000)', integer('--limit'))
    .option('--offset <n>', 'skip this many', integer('--offset'))
    .option('--json', 'print JSON')
    .action(
      async (
        name: string | undefined,
        flags: { limit?: number; offset?: number; json?: boolean },
        command: Command,
      ) => {
        const page = await withDataPlane(command, (dp) =>
          dp.listInvocations({ function: name ?? '', limit: flags.limit ?? 0, offset: flags.offset ?? 0 }),
        );
        if (flags.json) return printJson(page);
        printInvocations(page);
      },
    );

  program
    .command('logs')
    .description('show one invocation and what its handler printed')
    .argument('<request-id>')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }, command: Command) => {
      const invocation = await withDataPlane(command, (dp) => dp.getInvocation({ id }));
      if (flags.json) return printJson(invocation);
      printRecord({
        request_id: invocation.id,
        function: `${invocation.functionName} (version ${invocation.version})`,
        result: invocation.success ? 'ok' : 'failed',
        error: invocation.error || '-',
        duration: `${invocation.durationMs} ms`,
        cold_start: invocation.coldStart,
        created_at: invocation.createdAt,
      });
      process.stdout.write(
        `--- log ---\n${invocation.log}${invocation.log.endsWith('\n') || !invocation.log ? '' : '\n'}`,
      );
    });

  program
    .command('metrics')
    .description("a function's invocation totals and duration percentiles")
    .argument('[name]', 'the function; all functions when omitted')
    .option('--range <s>', 'window in seconds (default 3600)', integer('--range'))
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, flags: { range?: number; json?: boolean }, command: Command) => {
      const metrics = await withDataPlane(command, (dp) =>
        dp.getMetrics({ function: name ?? '', rangeSeconds: flags.range ?? 0 }),
      );
      if (flags.json) return printJson(metrics);
      const ms = (value: number): string => `${value.toFixed(1)} ms`;
      printRecord({
        invocations: metrics.totalInvocations,
        successful: metrics.successfulInvocations,
        failed: metrics.failedInvocations,
        avg: ms(metrics.avgDurationMs),
        p50: ms(metrics.p50DurationMs),
        p95: ms(metrics.p95DurationMs),
        p99: ms(metrics.p99DurationMs),
      });
    });
}
