import type { Command } from 'commander';
import type * as StorageLib from '#storage';
import type { Database } from '#storage';
import { apiKeyScopes, type ApiKeyScope } from '#storage/records';
import { createKeyAdminClient } from '#proto/client';
import type { keyAdmin } from '#proto';
import { settings, shownDefaultOf, type SettingDefinition, type SettingKey } from '#server/cli';
import type * as ServerLib from '#server';
import type { NovaConfig } from '#server';
import { localTime, printJson, printTable } from './output.js';
import { withClient } from './client-options.js';

/*
 * Nest, TypeORM and the planes load only when a server command runs: every
 * other command (and --help) starts without them.
 */
const serverLib = (): Promise<typeof ServerLib> => import('#server');
const storageLib = (): Promise<typeof StorageLib> => import('#storage');

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

async function configFrom(flags: ServerFlags & Record<string, unknown>): Promise<NovaConfig> {
  const { config: configFile, ...rest } = flags;
  const { loadConfig } = await serverLib();
  return loadConfig({ flags: rest, env: process.env, ...(configFile ? { configFile } : {}) });
}

/** Opens the database named by the configuration, runs work, closes it. */
async function withDatabase<T>(flags: ServerFlags, work: (database: Database) => Promise<T>): Promise<T> {
  const config = await configFrom({ logLevel: 'warn', ...flags });
  const { JsonLogger, setLogLevel } = await serverLib();
  const { Database } = await storageLib();
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
      const [{ runNovaProcess }, { planesFor }] = await Promise.all([serverLib(), import('../planes.js')]);
      await runNovaProcess({ flags: rest, env: process.env, ...(configFile ? { configFile } : {}) }, planesFor);
    });

  addServerFlags(program.command('migrate'))
    .description('apply pending database migrations')
    .action(async (flags: ServerFlags) => {
      const ran = await withDatabase(flags, (database) => database.migrate());
      process.stdout.write(ran.length ? `applied: ${ran.join(', ')}\n` : 'database is up to date\n');
    });

  registerKeyCommands(program);
}

/**
 * The bootstrap of `nova keys create`: straight into a database that a Nova
 * daemon (or `nova migrate`) has already made, named explicitly. It never
 * creates one: a key in a database the server does not use is worthless.
 */
async function createKeyInDatabase(flags: ServerFlags, scope: ApiKeyScope, description: string) {
  const config = await configFrom({ logLevel: 'warn', ...flags });
  const { ApiKeysRepository, EmbeddedPostgres } = await storageLib();
  if (!config.databaseUrl && !EmbeddedPostgres.hasCluster(config.dataDir)) {
    throw new Error(
      `${config.dataDir} holds no Nova database; give the --data-dir of a Nova that has run (\`nova daemon\` makes it there)`,
    );
  }
  return withDatabase(flags, async (database) => {
    if (await database.hasPendingMigrations()) {
      throw new Error(
        `the database at ${config.databaseUrl ? 'DATABASE_URL' : config.dataDir} does not hold Nova's current schema; ` +
          'run `nova migrate` against it first',
      );
    }
    return new ApiKeysRepository(database.sql).create(scope, description);
  });
}

function printKeys(keys: keyAdmin.KeyInfo[]): void {
  printTable(
    ['ID', 'PREFIX', 'SCOPE', 'CREATED', 'REVOKED', 'DESCRIPTION'],
    keys.map((key) => [
      key.id,
      key.prefix,
      key.scope,
      localTime(key.createdAt),
      key.revokedAt ? localTime(key.revokedAt) : '-',
      key.description || '-',
    ]),
  );
}

/** API keys over nova.v1.KeyAdmin (an admin key); `create` alone also bootstraps the first one into a database. */
function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('manage API keys (nova.v1.KeyAdmin; needs an admin key)');

  keys
    .command('create')
    .description('create an API key; it is printed once and stored only as a hash')
    .requiredOption('--scope <scope>', `one of ${apiKeyScopes.join(', ')}`)
    .option('--description <text>', 'what the key is for', '')
    .option('--data-dir <dir>', "bootstrap: write the key into this data dir's existing Nova database, not over gRPC")
    .option('--database-url <url>', 'bootstrap: write the key into this existing Nova database, not over gRPC')
    .option('--json', 'print JSON')
    .action(
      async (
        flags: { scope: string; description: string; json?: boolean; dataDir?: string; databaseUrl?: string },
        command: Command,
      ) => {
        if (!(apiKeyScopes as readonly string[]).includes(flags.scope)) {
          throw new Error(`--scope must be one of ${apiKeyScopes.join(', ')} (got "${flags.scope}")`);
        }
        const direct = flags.dataDir !== undefined || flags.databaseUrl !== undefined;
        const created = direct
          ? await createKeyInDatabase(
              {
                ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
                ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
              },
              flags.scope as ApiKeyScope,
              flags.description,
            ).then(({ key, record }) => ({ key, id: record.id, scope: record.scope }))
          : await withClient(command, createKeyAdminClient, (admin) =>
              admin.createKey({ scope: flags.scope, description: flags.description }),
            ).then(({ key, info }) => ({ key, id: info?.id ?? '', scope: info?.scope ?? flags.scope }));
        if (flags.json) return printJson(created);
        process.stdout.write(`${created.key}\n`);
        process.stderr.write(`key ${created.id} (scope ${created.scope}); it is shown only this once\n`);
      },
    );

  keys
    .command('list')
    .alias('ls')
    .description('list API keys (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const { keys: list } = await withClient(command, createKeyAdminClient, (admin) => admin.listKeys({}));
      if (flags.json) return printJson(list);
      printKeys(list);
    });

  keys
    .command('revoke')
    .description('revoke an API key by id or prefix')
    .argument('<id-or-prefix>')
    .action(async (idOrPrefix: string, _flags: unknown, command: Command) => {
      await withClient(command, createKeyAdminClient, (admin) => admin.revokeKey({ idOrPrefix }));
      process.stdout.write(`revoked ${idOrPrefix}\n`);
    });
}
