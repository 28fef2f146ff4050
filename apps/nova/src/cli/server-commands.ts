import type { Command } from 'commander';
import { apiKeyScopes, ApiKeysRepository, Database, type ApiKeyScope } from '#storage';
import { JsonLogger, loadConfig, runNovaProcess, setLogLevel, type NovaConfig } from '#server';
import { planesFor } from '../planes.js';
import { printJson, printTable } from './output.js';

interface ServerFlags {
  config?: string;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
}

function addServerFlags(command: Command): Command {
  return command
    .option('--config <file>', 'YAML configuration file (env NOVA_CONFIG)')
    .option('--data-dir <dir>', 'data directory of the embedded PostgreSQL (env NOVA_DATA_DIR, default .nova)')
    .option('--database-url <url>', 'use this PostgreSQL instead of the embedded one (env DATABASE_URL)')
    .option('--log-level <level>', 'debug, info, warn or error (env NOVA_LOG_LEVEL)');
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
  addServerFlags(program.command('daemon'))
    .description('run the Nova server')
    .option('--grpc-addr <addr>', 'listen address, host:port or :port (env NOVA_GRPC_ADDR, default 127.0.0.1:9090)')
    .option('--mode <mode>', 'unified, controlplane, dataplane or router (env NOVA_GRPC_MODE)')
    .option('--auth <mode>', 'off or required (env NOVA_AUTH)')
    .option('--insecure', 'allow a non-loopback address with auth off (env NOVA_INSECURE)')
    .option('--grpc-enabled', 'accepted for compatibility; gRPC is always on')
    .option('--grpc-idle-timeout <s>', 'close connections idle this long (env NOVA_GRPC_IDLE_TIMEOUT_S, default 300)')
    .option('--grpc-keepalive <s>', 'ping connections this often (env NOVA_GRPC_KEEPALIVE_S, default 30)')
    .option('--grpc-max-streams <n>', 'concurrent calls per connection (env NOVA_GRPC_MAX_STREAMS, default 1000)')
    .option('--idle-ttl <s>', 'seconds an idle function instance lives (env NOVA_IDLE_TTL_S, default 60)')
    .option('--warm-pool-size <n>', 'generic processes kept ready per runtime (env NOVA_WARM_POOL_SIZE, default 2)')
    .option('--queue-limit <n>', 'calls that may wait per function (env NOVA_QUEUE_LIMIT, default 100)')
    .option('--max-instances <n>', 'function instances on this node at once (env NOVA_MAX_INSTANCES, default 200)')
    .option(
      '--max-memory-mb <n>',
      "sum of instances' memory limits on this node (env NOVA_MAX_MEMORY_MB, default 3/4 of RAM)",
    )
    .option('--instance-cpus <n>', 'CPU cores one instance may use (env NOVA_INSTANCE_CPUS, default 1)')
    .option('--instance-tmp-mb <n>', "size of each instance's private /tmp (env NOVA_INSTANCE_TMP_MB, default 512)")
    .option('--instance-pids <n>', 'processes and threads per instance (env NOVA_INSTANCE_PIDS, default 128)')
    .option(
      '--async-concurrency <n>',
      'async invocations run at once on this node (env NOVA_ASYNC_CONCURRENCY, default 8)',
    )
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
          key.createdAt.toISOString(),
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
