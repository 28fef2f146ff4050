import type { Command } from 'commander';
import { Statehouse, type JsonObject, type ReplayEvent, type StateResult } from '#client';
import { integer, withClient } from './client-options.js';
import { printJson, printTable } from './output.js';

type StateFlags = { namespace?: string; json?: boolean };

/** Runs one command's calls with the SDK's Statehouse client in the command's namespace, closed afterwards. */
function withState<T>(command: Command, call: (state: Statehouse) => Promise<T>): Promise<T> {
  const namespace = command.optsWithGlobals<StateFlags>().namespace ?? 'default';
  return withClient(command, (options) => new Statehouse({ ...options, namespace }), call);
}

function parseObject(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`the value is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('the value must be a JSON object, e.g. \'{"name": "Ada"}\' (statehouse.v1 stores Structs)');
  }
  return value as JsonObject;
}

/** One line per operation, as statehousectl prints a replay. */
function printEvent(event: ReplayEvent): void {
  for (const op of event.operations) {
    const what = op.value === undefined ? 'del' : 'put';
    const value = op.value === undefined ? '' : ` ${JSON.stringify(op.value)}`;
    process.stdout.write(`${event.commitTs} ${event.txnId.slice(0, 8)} ${what} ${op.key} v${op.version}${value}\n`);
  }
}

/** Writes or deletes one key in a transaction of its own. */
async function commitOne(
  state: Statehouse,
  agentId: string,
  key: string,
  value: JsonObject | undefined,
): Promise<number> {
  const { commitTs } = await state.transaction(
    async (tx) => (value ? tx.write(agentId, key, value) : tx.delete(agentId, key)),
    { retries: 0 },
  );
  return commitTs;
}

/** `nova state`, like statehousectl: read, write and replay agents' state over statehouse.v1. */
export function registerStateCommands(program: Command): void {
  const state = program.command('state').description("agents' state (statehouse.v1)");
  const common = (command: Command): Command =>
    command.option('--namespace <ns>', 'the key space (default "default")').option('--json', 'print JSON');

  common(state.command('get').description("a key's latest value").argument('<agent>').argument('<key>')).action(
    async (agentId: string, key: string, flags: StateFlags, command: Command) => {
      const found = await withState(command, (client) => client.getState(agentId, key));
      if (flags.json) return printJson(found);
      if (!found.exists) throw new Error(`${agentId}/${key} has no value${found.version ? ' (deleted)' : ''}`);
      process.stdout.write(`${JSON.stringify(found.value)}\n`);
      process.stderr.write(`version ${found.version}, commit_ts ${found.commitTs}\n`);
    },
  );

  common(
    state
      .command('keys')
      .description("an agent's live keys, in key order")
      .argument('<agent>')
      .option('--prefix <prefix>', 'only keys that start with this, with their values'),
  ).action(async (agentId: string, flags: StateFlags & { prefix?: string }, command: Command) => {
    if (flags.prefix !== undefined) {
      const entries = await withState(command, (client) => client.scanPrefix(agentId, flags.prefix!));
      if (flags.json) return printJson(entries);
      return printTable(
        ['KEY', 'VERSION', 'COMMIT TS', 'VALUE'],
        entries.map((entry) => [entry.key, String(entry.version), String(entry.commitTs), JSON.stringify(entry.value)]),
      );
    }
    const keys = await withState(command, (client) => client.listKeys(agentId));
    if (flags.json) return printJson(keys);
    for (const key of keys) process.stdout.write(`${key}\n`);
  });

  common(
    state
      .command('put')
      .description('write a key (its own transaction)')
      .argument('<agent>')
      .argument('<key>')
      .argument('<json>'),
  ).action(async (agentId: string, key: string, json: string, flags: StateFlags, command: Command) => {
    const value = parseObject(json);
    const commitTs = await withState(command, (client) => commitOne(client, agentId, key, value));
    if (flags.json) return printJson({ commitTs });
    process.stdout.write(`wrote ${agentId}/${key} at commit_ts ${commitTs}\n`);
  });

  common(
    state.command('rm').description('delete a key (its own transaction)').argument('<agent>').argument('<key>'),
  ).action(async (agentId: string, key: string, flags: StateFlags, command: Command) => {
    const commitTs = await withState(command, (client) => commitOne(client, agentId, key, undefined));
    if (flags.json) return printJson({ commitTs });
    process.stdout.write(`deleted ${agentId}/${key} at commit_ts ${commitTs}\n`);
  });

  common(state.command('history').description('every version of a key').argument('<agent>').argument('<key>')).action(
    async (agentId: string, key: string, flags: StateFlags, command: Command) => {
      const versions = await withState(command, async (client) => {
        const latest = await client.getState(agentId, key);
        const all: StateResult[] = [];
        for (let version = 1; version <= latest.version; version++) {
          all.push(await client.getStateAtVersion(agentId, key, version));
        }
        return all;
      });
      if (flags.json) return printJson(versions);
      if (versions.length === 0) throw new Error(`${agentId}/${key} was never written`);
      printTable(
        ['VERSION', 'COMMIT TS', 'VALUE'],
        versions.map((v) => [String(v.version), String(v.commitTs), v.exists ? JSON.stringify(v.value) : '(deleted)']),
      );
    },
  );

  common(
    state
      .command('replay')
      .description("an agent's commits in order, one line per operation: COMMIT_TS TXN put|del KEY vVERSION VALUE")
      .argument('<agent>')
      .option('--from <ts>', 'from this commit_ts', integer('--from', 1))
      .option('--to <ts>', 'up to this commit_ts', integer('--to', 1))
      .option('-f, --follow', 'then print new commits as they happen, until Ctrl-C'),
  ).action(
    async (agentId: string, flags: StateFlags & { from?: number; to?: number; follow?: boolean }, command: Command) => {
      if (flags.follow && flags.to !== undefined) throw new Error('--follow and --to cannot go together');
      await withState(command, async (client) => {
        const stop = new AbortController();
        const cancel = (): void => stop.abort(); // Ctrl-C ends the stream quietly
        process.once('SIGINT', cancel);
        try {
          for await (const event of client.replay(agentId, {
            ...(flags.from !== undefined ? { startTs: flags.from } : {}),
            ...(flags.to !== undefined ? { endTs: flags.to } : {}),
            follow: flags.follow === true,
            signal: stop.signal,
          })) {
            if (flags.json) process.stdout.write(`${JSON.stringify(event)}\n`);
            else printEvent(event);
          }
        } finally {
          process.removeListener('SIGINT', cancel);
        }
      });
    },
  );
}
