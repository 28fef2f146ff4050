import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { AliasInfo, FunctionInfo } from '#client';
import { integer, withNova, type ClientFlags } from './client-options.js';
import { readEnvFile } from './env-file.js';
import { localTime, printJson, printRecord, printTable } from './output.js';

type Flags = ClientFlags & { json?: boolean };

function collectNames(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function collectEnv(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new Error(`--env takes NAME=VALUE (got "${value}")`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

function printFunction(info: FunctionInfo, json: boolean | undefined): void {
  if (json) return printJson(info);
  printRecord({
    name: info.name,
    id: info.id,
    runtime: info.runtime,
    handler: info.handler,
    version: info.version,
    code_hash: info.codeHash,
    memory_mb: info.memoryMb,
    timeout_s: info.timeoutS,
    replicas: `${info.minReplicas}..${info.maxReplicas}`,
    concurrency: info.concurrency,
    mode: info.mode,
    env_vars: Object.keys(info.envVars).sort().join(', ') || '-',
    created_at: localTime(info.createdAt),
    updated_at: localTime(info.updatedAt),
  });
}

function printAliases(aliases: AliasInfo[]): void {
  printTable(
    ['ALIAS', 'VERSION', 'CANARY', 'DESCRIPTION', 'UPDATED'],
    aliases.map((alias) => [
      alias.name,
      String(alias.version),
      alias.canaryWeight > 0 ? `${alias.canaryWeight}% to version ${alias.canaryVersion}` : '-',
      alias.description || '-',
      localTime(alias.updatedAt),
    ]),
  );
}

/** "4=10": version 4 takes 10 percent of the alias's calls. */
function parseCanary(value: string): { canaryVersion: number; canaryWeight: number } {
  const match = /^(\d+)=(\d+)%?$/.exec(value);
  if (!match) throw new Error(`--canary takes VERSION=PERCENT, e.g. 4=10 (got "${value}")`);
  return { canaryVersion: Number(match[1]), canaryWeight: Number(match[2]) };
}

/** Aliases as Lambda has them: a name for a version, moved to deploy or roll back, with an optional canary share. */
function registerAliasCommands(functions: Command): void {
  const alias = functions.command('alias').description('name versions: invoke NAME:ALIAS; move an alias to roll back');

  alias
    .command('set')
    .description('point an alias at a version (creates or moves it)')
    .argument('<name>', 'the function')
    .argument('<alias>', 'e.g. prod')
    .argument('<version>', 'the version it serves', integer('<version>', 1))
    .option('--canary <version=percent>', "send a share of the alias's calls to another version, e.g. 4=10")
    .option('--description <text>', 'what the alias is for')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        aliasName: string,
        version: number,
        flags: Flags & { canary?: string; description?: string },
        command: Command,
      ) => {
        const canary = flags.canary ? parseCanary(flags.canary) : { canaryVersion: 0, canaryWeight: 0 };
        const info = await withNova(command, (nova) =>
          nova.setAlias(name, aliasName, { version, ...canary, description: flags.description ?? '' }),
        );
        if (flags.json) return printJson(info);
        const split = info.canaryWeight > 0 ? `, ${info.canaryWeight}% to version ${info.canaryVersion}` : '';
        process.stdout.write(`${name}:${info.name} -> version ${info.version}${split}\n`);
      },
    );

  alias
    .command('ls')
    .alias('list')
    .description("list a function's aliases")
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: Flags, command: Command) => {
      const aliases = await withNova(command, (nova) => nova.listAliases(name));
      if (flags.json) return printJson(aliases);
      printAliases(aliases);
    });

  alias
    .command('rm')
    .alias('delete')
    .description('delete an alias (its versions stay)')
    .argument('<name>')
    .argument('<alias>')
    .action(async (name: string, aliasName: string, _flags: Flags, command: Command) => {
      await withNova(command, (nova) => nova.deleteAlias(name, aliasName));
      process.stdout.write(`deleted ${name}:${aliasName}\n`);
    });
}

export function registerFunctionCommands(program: Command): void {
  const functions = program.command('functions').alias('fn').description('manage functions (nova.v1.ControlPlane)');

  functions
    .command('create')
    .description('create a function from a source file or zip')
    .argument('<name>')
    .requiredOption('--runtime <runtime>', 'e.g. python or node (see `nova runtimes`)')
    .requiredOption('--handler <handler>', 'e.g. handler or module.func')
    .requiredOption('--code <file>', 'source file or zip archive')
    .option('--memory <mb>', 'memory limit in MiB (default 128)', integer('--memory', 1))
    .option('--timeout <s>', 'timeout in seconds (default 30)', integer('--timeout', 1))
    .option('--env <NAME=VALUE>', 'environment variable, repeatable', collectEnv)
    .option('--env-file <file>', 'environment variables from a .env file (--env wins)')
    .option('--min-replicas <n>', 'instances kept warm', integer('--min-replicas'))
    .option('--max-replicas <n>', 'most instances per node (default 10)', integer('--max-replicas'))
    .option('--network <mode>', 'none (default: no network) or egress (outbound, never the node or private ranges)')
    .option(
      '--concurrency <n>',
      'calls one instance serves at once, 1 to 100 (default 1; above 1 only for node)',
      integer('--concurrency', 1),
    )
    .option('--json', 'print JSON')
    .action(async (name: string, flags: Flags & Record<string, unknown>, command: Command) => {
      const code = await readFile(String(flags['code']));
      const fromFile = flags['envFile'] ? await readEnvFile(flags['envFile'] as string) : {};
      const info = await withNova(command, (nova) =>
        nova.createFunction({
          name,
          runtime: String(flags['runtime']),
          handler: String(flags['handler']),
          code,
          memoryMb: flags['memory'] as number | undefined,
          timeoutS: flags['timeout'] as number | undefined,
          envVars: { ...fromFile, ...((flags['env'] as Record<string, string> | undefined) ?? {}) },
          minReplicas: flags['minReplicas'] as number | undefined,
          maxReplicas: flags['maxReplicas'] as number | undefined,
          network: flags['network'] as string | undefined,
          concurrency: flags['concurrency'] as number | undefined,
        }),
      );
      printFunction(info, flags.json);
    });

  functions
    .command('get')
    .description('show a function')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: Flags, command: Command) => {
      printFunction(await withNova(command, (nova) => nova.getFunction(name)), flags.json);
    });

  functions
    .command('list')
    .alias('ls')
    .description('list functions by name')
    .option('--limit <n>', 'page size (default 100, at most 1000)', integer('--limit'))
    .option('--offset <n>', 'skip this many', integer('--offset'))
    .option('--json', 'print JSON')
    .action(async (flags: Flags & { limit?: number; offset?: number }, command: Command) => {
      const page = await withNova(command, (nova) => nova.listFunctions({ limit: flags.limit, offset: flags.offset }));
      if (flags.json) return printJson(page);
      printTable(
        ['NAME', 'RUNTIME', 'HANDLER', 'VERSION', 'MEMORY', 'TIMEOUT', 'UPDATED'],
        page.functions.map((fn) => [
          fn.name,
          fn.runtime,
          fn.handler,
          String(fn.version),
          `${fn.memoryMb} MiB`,
          `${fn.timeoutS} s`,
          localTime(fn.updatedAt),
        ]),
      );
      process.stdout.write(`${page.functions.length} of ${page.total} functions\n`);
    });

  functions
    .command('update')
    .description("change a function's settings; unset flags leave settings as they are")
    .argument('<name>')
    .option('--memory <mb>', 'memory limit in MiB', integer('--memory', 1))
    .option('--timeout <s>', 'timeout in seconds', integer('--timeout', 1))
    .option('--env <NAME=VALUE>', 'add or change one environment variable, repeatable', collectEnv)
    .option('--env-file <file>', 'add or change the variables of a .env file (--env wins)')
    .option('--unset-env <NAME>', 'remove one environment variable, repeatable', collectNames)
    .option('--clear-env', 'remove all environment variables (then --env and --env-file add)')
    .option('--min-replicas <n>', 'instances kept warm (0 allowed)', integer('--min-replicas'))
    .option('--max-replicas <n>', 'most instances per node', integer('--max-replicas'))
    .option('--network <mode>', 'none or egress')
    .option(
      '--concurrency <n>',
      'calls one instance serves at once, 1 to 100 (above 1 only for node)',
      integer('--concurrency', 1),
    )
    .option('--handler <handler>', 'a new handler: makes a new version of the latest code')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: Flags & Record<string, unknown>, command: Command) => {
      const envChanges = ['env', 'envFile', 'unsetEnv', 'clearEnv'];
      const changes = [
        ...envChanges,
        'memory',
        'timeout',
        'minReplicas',
        'maxReplicas',
        'network',
        'handler',
        'concurrency',
      ];
      if (!changes.some((flag) => flags[flag] !== undefined)) {
        throw new Error(
          'nothing to change: give at least one of --memory, --timeout, --env, --env-file, --unset-env, --clear-env, --min-replicas, --max-replicas, --network, --concurrency, --handler',
        );
      }
      // UpdateFunction replaces the whole map: merge with what is stored, as `lambda update-function-configuration` users expect.
      let envVars: Record<string, string> | undefined;
      if (envChanges.some((flag) => flags[flag] !== undefined)) {
        const current = flags['clearEnv'] ? {} : (await withNova(command, (nova) => nova.getFunction(name))).envVars;
        const fromFile = flags['envFile'] ? await readEnvFile(flags['envFile'] as string) : {};
        envVars = { ...current, ...fromFile, ...((flags['env'] as Record<string, string> | undefined) ?? {}) };
        for (const unset of (flags['unsetEnv'] as string[] | undefined) ?? []) delete envVars[unset];
      }
      const info = await withNova(command, (nova) =>
        nova.updateFunction(name, {
          memoryMb: flags['memory'] as number | undefined,
          timeoutS: flags['timeout'] as number | undefined,
          envVars,
          minReplicas: flags['minReplicas'] as number | undefined,
          maxReplicas: flags['maxReplicas'] as number | undefined,
          network: flags['network'] as string | undefined,
          handler: flags['handler'] as string | undefined,
          concurrency: flags['concurrency'] as number | undefined,
        }),
      );
      printFunction(info, flags.json);
    });

  functions
    .command('code')
    .description('upload new code as a new version (identical code and handler make none)')
    .argument('<name>')
    .requiredOption('--code <file>', 'source file or zip archive')
    .option('--handler <handler>', 'the handler of the new version (default: the current one)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: Flags & { code: string; handler?: string }, command: Command) => {
      const code = await readFile(flags.code);
      const result = await withNova(command, (nova) => nova.updateFunctionCode(name, code, { handler: flags.handler }));
      if (flags.json) return printJson(result);
      if (result.unchanged) {
        process.stdout.write(
          `${name}: unchanged, still version ${result.version} (same code sha256 ${result.codeHash} and handler)\n`,
        );
        return;
      }
      process.stdout.write(`${name}: version ${result.version}, code sha256 ${result.codeHash}\n`);
    });

  functions
    .command('versions')
    .description('list the stored code versions of a function')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: Flags, command: Command) => {
      const versions = await withNova(command, (nova) => nova.listFunctionVersions(name));
      if (flags.json) return printJson(versions);
      printTable(
        ['VERSION', 'HANDLER', 'CODE SHA256', 'SIZE', 'ALIASES', 'CREATED'],
        versions.map((v) => [
          String(v.version),
          v.handler,
          v.codeHash.slice(0, 12),
          `${v.sizeBytes} B`,
          v.aliases.join(', ') || '-',
          localTime(v.createdAt),
        ]),
      );
    });

  registerAliasCommands(functions);

  functions
    .command('delete')
    .alias('rm')
    .description('delete a function and all its versions')
    .argument('<name>')
    .action(async (name: string, _flags: Flags, command: Command) => {
      await withNova(command, (nova) => nova.deleteFunction(name));
      process.stdout.write(`deleted ${name}\n`);
    });

  program
    .command('runtimes')
    .description('list the runtimes the server can run')
    .option('--json', 'print JSON')
    .action(async (flags: Flags, command: Command) => {
      const runtimes = await withNova(command, (nova) => nova.runtimes());
      if (flags.json) return printJson(runtimes);
      printTable(
        ['ID', 'NAME', 'VERSION', 'ENTRYPOINT'],
        runtimes.map((runtime) => [runtime.id, runtime.name, runtime.version, runtime.entrypoint.join(' ')]),
      );
    });
}
