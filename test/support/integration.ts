import type { DynamicModule, ModuleMetadata, Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Database, StorageModule } from '#storage';
import { GrpcHealth, NovaServerModule, loadConfig, type NovaConfig } from '#server';
import { createTestDatabase, type TestDatabase } from './nova-process.js';

/**
 * The integration tier (*.int-spec.ts beside the code): Nest modules built
 * with Test.createTestingModule over their real providers and a real,
 * migrated PostgreSQL (a fresh embedded cluster, or a fresh database on
 * DATABASE_URL), in the test's own process.
 */
export interface IntegrationDatabase {
  database: Database;
  dispose(): Promise<void>;
}

export async function openIntegrationDatabase(): Promise<IntegrationDatabase> {
  const testDatabase: TestDatabase = await createTestDatabase();
  const database = await Database.open({
    databaseUrl: testDatabase.env['DATABASE_URL'],
    dataDir: testDatabase.dataDir,
    log: () => undefined,
    poolSize: 4,
  });
  try {
    await database.migrate();
    await database.listener.start();
  } catch (error) {
    await database.close();
    await testDatabase.dispose();
    throw error;
  }
  return {
    database,
    async dispose() {
      await database.close();
      await testDatabase.dispose();
    },
  };
}

/** Nova's configuration from its defaults and the given environment variables only. */
export function testConfig(env: Record<string, string> = {}): NovaConfig {
  return loadConfig({ env: { PATH: process.env['PATH'] ?? '', ...env }, flags: {} });
}

/**
 * A testing module of the given feature modules, wired as a server wires
 * them: config, storage on `database`, and the planes' shared providers.
 */
export async function compileFeature(
  database: Database,
  metadata: ModuleMetadata & { imports: (Type | DynamicModule)[] },
  options: { config?: NovaConfig; override?: (builder: ReturnType<typeof Test.createTestingModule>) => void } = {},
): Promise<TestingModule> {
  const builder = Test.createTestingModule({
    ...metadata,
    imports: [
      NovaServerModule.forRoot(options.config ?? testConfig(), new GrpcHealth([]), false),
      StorageModule.forDatabase(database),
      ...metadata.imports,
    ],
  });
  options.override?.(builder);
  const module = await builder.compile();
  return module.init();
}
