import type { Command } from 'commander';
import { apiKeyScopes, ApiKeysRepository, Database, type ApiKeyScope } from '#storage';
import {
  JsonLogger,
  loadConfig,
  runNovaProcess,
  setLogLevel,
  settings,
  shownDefaultOf,
  type NovaConfig,
  type SettingDefinition,
  type SettingKey,
} from '#server';
import { planesFor } from '../planes.js';
import { localTime, printJson, printTable } from './output.js';

interface ServerFlags {
  config?: string;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
}

/** What every server command takes; `daemon` takes every setting. */
const databaseSettings: readonly SettingKey[] = ['dataDir', 'databaseUrl', 'logLevel'];

/** Flags come from the settings table: name, value, meaning, environment variable and default are written once. */
function addSettingFlags(command: Command, keys: readonly SettingKey[]): Command {
  command.option('--config <file>', 'YAML configuration file (env NOVA_CONFIG)');
  for (const key of keys) {
    const definition: SettingDefinition<unknown> = settings[key];
    const help = definition.help.replaceAll('`', '');
    command.option(
      definition.arg ? `${definition.flagName} ${definition.arg}` : definition.flagName,
      `${help} (env ${definition.env}, default ${shownDefaultOf(definition)})`,
    );
  }
  return command;
}

function addServerFlags(command: Command): Command {
  return addSettingFlags(command, databaseSettings);
}

function configFrom(flags: ServerFlags & Record<string, unknown>): NovaConfig {
  const { config: configFile, ...rest } = flags;
  return loadConfig({ flags: rest, env: process.env, ...(configFile ? { configFile } : {}) });
}

/** Opens the database named by the configuration, runs work, closes it. */
async function withDatabase<T>(flags: ServerFlags, work: (database: Database) => Promise<T>): Promise<T> {
  const config = configFrom({ logLevel: 'warn', ...flags });
  setLogLevel(config.logLevel);
  const logger = new JsonLogger('storage');
  const database = await Database.open({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    log: (message) => logger.info(message),
    poolSize: 2,
  });
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

export function registerServerCommands(program: Command): void {
  addSettingFlags(program.command('daemon'), Object.keys(settings) as SettingKey[])
    .description('run the Nova server')
    .action(async (flags: ServerFlags & Record<string, unknown>) => {
      const { config: configFile, ...rest } = flags;
      await runNovaProcess({ flags: rest, env: process.env, ...(configFile ? { configFile } : {}) }, planesFor);
    });

  addServerFlags(program.command('migrate'))
    .description('apply pending database migrations')
    .action(async (flags: ServerFlags) => {
      const ran = await withDatabase(flags, (database) => database.migrate());
      process.stdout.write(ran.length ? `applied: ${ran.join(', ')}\n` : 'database is up to date\n');
    });

  const keys = program.command('keys').description('manage API keys (works on the database directly)');
  addServerFlags(keys.command('create'))
    .description('create an API key; it is printed once and stored only as a hash')
    .requiredOption('--scope <scope>', `one of ${apiKeyScopes.join(', ')}`)
    .option('--description <text>', 'what the key is for', '')
    .option('--json', 'print JSON')
    .action(async (flags: ServerFlags & { scope: string; description: string; json?: boolean }) => {
      if (!(apiKeyScopes as readonly string[]).includes(flags.scope)) {
        throw new Error(`--scope must be one of ${apiKeyScopes.join(', ')} (got "${flags.scope}")`);
      }
      const created = await withDatabase(flags, async (database) => {
        await database.migrate();
        return new ApiKeysRepository(database.sql).create(flags.scope as ApiKeyScope, flags.description);
      });
      if (flags.json) printJson({ key: created.key, id: created.record.id, scope: created.record.scope });
      else {
        process.stdout.write(`${created.key}\n`);
        process.stderr.write(`key ${created.record.id} (scope ${created.record.scope}); it is shown only this once\n`);
      }
    });

  addServerFlags(keys.command('list'))
    .description('list API keys (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (flags: ServerFlags & { json?: boolean }) => {
      const list = await withDatabase(flags, (database) => new ApiKeysRepository(database.sql).list());
      if (flags.json) return printJson(list);
      printTable(
        ['ID', 'PREFIX', 'SCOPE', 'CREATED', 'REVOKED', 'DESCRIPTION'],
        list.map((key) => [
          key.id,
          key.prefix,
          key.scope,
          localTime(key.createdAt.toISOString()),
          key.revokedAt?.toISOString() ?? '-',
          key.description,
        ]),
      );
    });

  addServerFlags(keys.command('revoke'))
    .description('revoke an API key by id or prefix')
    .argument('<id-or-prefix>')
    .action(async (idOrPrefix: string, flags: ServerFlags) => {
      const revoked = await withDatabase(flags, (database) => new ApiKeysRepository(database.sql).revoke(idOrPrefix));
      if (!revoked) throw new Error(`no single live key matches "${idOrPrefix}"`);
      process.stdout.write(`revoked ${idOrPrefix}\n`);
    });
}
