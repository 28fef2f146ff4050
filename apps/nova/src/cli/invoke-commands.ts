import type { Command } from 'commander';
import type { Invocation, InvocationPage, Nova } from '#client';
import { integer, withNova } from './client-options.js';
import { localTime, printJson, printRecord, printTable, toJsonShape } from './output.js';
import { readPayload } from './payload.js';

function writeOutput(output: Uint8Array): void {
  process.stdout.write(output);
  if (output.length > 0 && output[output.length - 1] !== 0x0a) process.stdout.write('\n');
}

/** What a call printed, under a header, ending in a newline. */
function logSection(log: string): string {
  return `--- log ---\n${log}${log.endsWith('\n') || !log ? '' : '\n'}`;
}

function printInvocations(page: InvocationPage): void {
  printTable(
    [
      'REQUEST ID',
      'FUNCTION',
      'VERSION',
      'KIND',
      'STATUS',
      'ATTEMPTS',
      'DURATION',
      'COLD',
      'CREATED',
      'CORRELATION ID',
      'ERROR',
    ],
    page.invocations.map((inv) => [
      inv.id,
      inv.functionName,
      String(inv.version),
      inv.kind,
      inv.status,
      String(inv.attempts),
      `${inv.durationMs} ms`,
      inv.coldStart ? 'yes' : 'no',
      localTime(inv.createdAt),
      inv.correlationId || '-',
      inv.error.split('\n')[0]?.slice(0, 80) ?? '',
    ]),
  );
  process.stdout.write(`${page.invocations.length} of ${page.total} invocations\n`);
}

function printInvocation(invocation: Invocation): void {
  printRecord({
    request_id: invocation.id,
    correlation_id: invocation.correlationId || '-',
    function: `${invocation.functionName} (version ${invocation.version})`,
    kind: invocation.kind,
    status: invocation.status,
    attempts: invocation.async ? `${invocation.attempts} of ${invocation.maxAttempts}` : invocation.attempts,
    ...(invocation.nextAttemptAt ? { next_attempt_at: localTime(invocation.nextAttemptAt) } : {}),
    error: invocation.error || '-',
    duration: `${invocation.durationMs} ms`,
    cold_start: invocation.coldStart,
    created_at: localTime(invocation.createdAt),
  });
  if (invocation.attemptHistory.length > 0) {
    process.stdout.write('--- attempts ---\n');
    printTable(
      ['ATTEMPT', 'STARTED', 'DURATION', 'ERROR'],
      invocation.attemptHistory.map((attempt) => [
        String(attempt.attempt),
        localTime(attempt.startedAt),
        `${attempt.durationMs} ms`,
        attempt.error || 'ok',
      ]),
    );
  }
  if (invocation.status === 'succeeded' && invocation.output.length > 0) {
    process.stdout.write('--- output ---\n');
    writeOutput(invocation.output);
  }
  process.stdout.write(logSection(invocation.log));
}

/** Polls an async invocation until it ends, writing a progress line on stderr whenever it changes. */
function waitFor(nova: Nova, id: string): Promise<Invocation> {
  let last = '';
  return nova.waitForInvocation(id, {
    onProgress: (invocation) => {
      const next = invocation.nextAttemptAt ? `, next attempt at ${localTime(invocation.nextAttemptAt)}` : '';
      const line = `${id}: ${invocation.status}, attempt ${invocation.attempts} of ${invocation.maxAttempts}${next}`;
      if (line !== last) process.stderr.write(`${line}\n`);
      last = line;
    },
  });
}

interface InvokeFlags {
  timeout?: number;
  verbose?: boolean;
  json?: boolean;
  async?: boolean;
  wait?: boolean;
  stream?: boolean;
  maxAttempts?: number;
  idempotencyKey?: string;
  raw?: boolean;
  version?: number;
  tail?: boolean;
}

/** What a call printed, after its output and on stderr (the output stays pipeable). */
function writeTail(log: string): void {
  process.stderr.write(logSection(log));
}

/** Flags that make no sense together are refused before anything is sent. */
function checkInvokeFlags(flags: InvokeFlags): void {
  const asyncOnly = (['wait', 'maxAttempts', 'idempotencyKey'] as const).filter((flag) => flags[flag] !== undefined);
  const names = { wait: '--wait', maxAttempts: '--max-attempts', idempotencyKey: '--idempotency-key' };
  if (!flags.async && asyncOnly.length > 0) {
    throw new Error(
      `${asyncOnly.map((flag) => names[flag]).join(', ')} ${asyncOnly.length === 1 ? 'needs' : 'need'} --async`,
    );
  }
  if (flags.async && flags.stream) throw new Error('--stream and --async cannot go together');
  if (flags.async && flags.timeout !== undefined) {
    throw new Error('--timeout applies to calls that wait for the result; an async call runs to its function timeout');
  }
  if (flags.async && flags.tail && !flags.wait) throw new Error('--tail with --async needs --wait');
}

async function invokeSync(nova: Nova, name: string, payload: Buffer, flags: InvokeFlags): Promise<void> {
  const response = await nova.invoke(name, payload, {
    timeoutS: flags.timeout,
    version: flags.version,
    includeLog: flags.tail === true,
  });
  if (flags.json) return printJson(response);
  if (flags.verbose) {
    process.stderr.write(
      `request id: ${response.requestId}\nversion:    ${response.version}\nduration:   ${response.durationMs} ms\n` +
        `cold start: ${response.coldStart}\n`,
    );
  }
  if (response.error) {
    process.stderr.write(`function error: ${response.error}\n`);
    process.exitCode = 2;
  } else {
    writeOutput(response.output);
  }
  if (flags.tail) writeTail(response.log);
}

async function invokeAsync(nova: Nova, name: string, payload: Buffer, flags: InvokeFlags): Promise<void> {
  const queued = await nova.invokeAsync(name, payload, {
    maxAttempts: flags.maxAttempts,
    idempotencyKey: flags.idempotencyKey,
    version: flags.version,
  });
  if (!flags.wait) {
    if (flags.json) return printJson(queued);
    process.stdout.write(`${queued.invocationId}\n`);
    return;
  }
  const finished = await waitFor(nova, queued.invocationId);
  if (flags.json) return printJson(finished);
  if (finished.status !== 'succeeded') {
    process.stderr.write(`dead letter after ${finished.attempts} attempts: ${finished.error}\n`);
    process.exitCode = 2;
  } else {
    writeOutput(finished.output);
  }
  if (flags.tail) writeTail(finished.log);
}

async function invokeStream(nova: Nova, name: string, payload: Buffer, flags: InvokeFlags): Promise<void> {
  const stream = nova.invokeStream(name, payload, {
    timeoutS: flags.timeout,
    version: flags.version,
    includeLog: flags.tail === true,
  });
  for await (const chunk of stream) {
    if (chunk.final) {
      if (chunk.error) {
        process.stderr.write(`function error: ${chunk.error}\n`);
        process.exitCode = 2;
      }
      if (flags.tail) writeTail(chunk.log);
      return;
    }
    writeOutput(chunk.data);
  }
}

/** `nova logs -f`: a header line per finished invocation, then its log indented, as they arrive. */
async function followLogs(nova: Nova, functionName: string, json: boolean): Promise<void> {
  const stop = new AbortController();
  const cancel = (): void => stop.abort();
  process.once('SIGINT', cancel);
  try {
    const invocations = nova.followLogs({
      function: functionName,
      signal: stop.signal,
      onStarted: () =>
        process.stderr.write(
          `following ${functionName ? `the logs of ${functionName}` : 'all logs'} (Ctrl-C to stop)\n`,
        ),
    });
    for await (const invocation of invocations) {
      if (json) {
        process.stdout.write(`${JSON.stringify(toJsonShape(invocation))}\n`);
        continue;
      }
      const outcome = invocation.error ? `${invocation.status}: ${invocation.error.split('\n')[0]}` : invocation.status;
      const cold = invocation.coldStart ? ' cold' : '';
      const attempt = invocation.async ? ` attempt ${invocation.attempts} of ${invocation.maxAttempts}` : '';
      process.stdout.write(
        `${localTime(invocation.createdAt)} ${invocation.functionName} v${invocation.version} ${invocation.id} ` +
          `${invocation.kind}${attempt} ${invocation.durationMs} ms${cold} ${outcome}\n`,
      );
      for (const line of invocation.log.split('\n')) if (line !== '') process.stdout.write(`    ${line}\n`);
    }
  } finally {
    process.removeListener('SIGINT', cancel);
  }
  if (stop.signal.aborted) return; // Ctrl-C
  throw new Error('the server ended the log stream (it is shutting down)');
}

export function registerInvokeCommands(program: Command): void {
  program
    .command('invoke')
    .description('run a function and print its output')
    .argument('<name>', 'NAME, or NAME:VERSION, NAME:ALIAS, NAME:latest')
    .argument('[payload]', 'the event as JSON; @file reads a file, - reads stdin (at most 6 MiB)', '')
    .option('--version <n>', 'run this version (`nova functions versions NAME` lists them)', integer('--version', 1))
    .option('--tail', 'print what the call printed after its output (on stderr), like Lambda --log-type Tail')
    .option('--raw', 'send the payload as it is, without checking that it is JSON')
    .option('--timeout <s>', 'seconds, at most the function timeout', integer('--timeout', 1))
    .option('-v, --verbose', 'also print request id, duration and cold start (on stderr)')
    .option('--json', 'print the whole response as JSON')
    .option('--async', 'queue the call durably and print its invocation id')
    .option('--wait', 'with --async: wait until it ends, showing progress')
    .option('--max-attempts <n>', 'with --async: attempts before dead letter (default 3)', integer('--max-attempts'))
    .option('--idempotency-key <key>', 'with --async: a repeated key within 24 h returns the first invocation')
    .option('--stream', 'print each item the handler yields as it arrives')
    .action(async (name: string, argument: string, flags: InvokeFlags, command: Command) => {
      checkInvokeFlags(flags);
      const payload = await readPayload(argument, flags.raw === true);
      await withNova(command, (nova) => {
        if (flags.async) return invokeAsync(nova, name, payload, flags);
        if (flags.stream) return invokeStream(nova, name, payload, flags);
        return invokeSync(nova, name, payload, flags);
      });
    });

  const invocations = program
    .command('invocations')
    .description('list invocations, newest first')
    .argument('[name]', 'only this function')
    .option('--limit <n>', 'page size (default 100, at most 1000)', integer('--limit'))
    .option('--offset <n>', 'skip this many', integer('--offset'))
    .option('--status <status>', 'only this status, e.g. dead_letter')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string | undefined,
        flags: { limit?: number; offset?: number; status?: string; json?: boolean },
        command: Command,
      ) => {
        const page = await withNova(command, (nova) =>
          nova.listInvocations({ function: name, status: flags.status, limit: flags.limit, offset: flags.offset }),
        );
        if (flags.json) return printJson(page);
        printInvocations(page);
      },
    );

  invocations
    .command('get')
    .description('show one invocation: status, attempts, output and log')
    .argument('<id>')
    .option('--wait', 'wait until an async invocation ends, showing progress')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { wait?: boolean; json?: boolean }, command: Command) => {
      const invocation = await withNova(command, (nova) => (flags.wait ? waitFor(nova, id) : nova.getInvocation(id)));
      // `invocations` has a --json of its own, which takes the flag when it follows `get`.
      if (flags.json || command.optsWithGlobals<{ json?: boolean }>().json) return printJson(invocation);
      printInvocation(invocation);
    });

  program
    .command('logs')
    .description("show an invocation and what it printed; -f follows every call's as it finishes")
    .argument('[target]', 'the invocation id; with -f, a function name (all functions when omitted)')
    .option('-f, --follow', 'stream invocations and their logs as they finish, on every node, until Ctrl-C')
    .option('--json', 'print JSON (one object per line with -f)')
    .action(async (target: string | undefined, flags: { json?: boolean; follow?: boolean }, command: Command) => {
      if (flags.follow) return withNova(command, (nova) => followLogs(nova, target ?? '', flags.json === true));
      if (!target) throw new Error('give an invocation id, or -f [NAME] to follow logs as they come');
      const invocation = await withNova(command, (nova) => nova.getInvocation(target));
      if (flags.json) return printJson(invocation);
      printInvocation(invocation);
    });

  program
    .command('metrics')
    .description("invocation totals and duration percentiles: one function's, or a row per function")
    .argument('[name]', 'the function; every function, one row each, when omitted')
    .option('--range <s>', 'window in seconds (default 3600)', integer('--range', 1))
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, flags: { range?: number; json?: boolean }, command: Command) => {
      const ms = (value: number): string => `${value.toFixed(1)} ms`;
      const rangeSeconds = flags.range ?? 0;
      if (name) {
        const metrics = await withNova(command, (nova) => nova.getMetrics(name, { rangeSeconds }));
        if (flags.json) return printJson(metrics);
        return printRecord({
          invocations: metrics.totalInvocations,
          successful: metrics.successfulInvocations,
          failed: metrics.failedInvocations,
          avg: ms(metrics.avgDurationMs),
          p50: ms(metrics.p50DurationMs),
          p95: ms(metrics.p95DurationMs),
          p99: ms(metrics.p99DurationMs),
        });
      }
      const rows = await withNova(command, async (nova) => {
        const names: string[] = [];
        for (;;) {
          const page = await nova.listFunctions({ limit: 1000, offset: names.length });
          names.push(...page.functions.map((fn) => fn.name));
          if (page.functions.length === 0 || names.length >= page.total) break;
        }
        return Promise.all(
          names.map(async (fn) => ({ function: fn, ...(await nova.getMetrics(fn, { rangeSeconds })) })),
        );
      });
      if (flags.json) return printJson(rows);
      printTable(
        ['FUNCTION', 'INVOCATIONS', 'FAILED', 'AVG', 'P50', 'P95', 'P99'],
        rows.map((row) => [
          row.function,
          String(row.totalInvocations),
          String(row.failedInvocations),
          ms(row.avgDurationMs),
          ms(row.p50DurationMs),
          ms(row.p95DurationMs),
          ms(row.p99DurationMs),
        ]),
      );
    });
}
