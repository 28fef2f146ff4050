import { after, before } from 'node:test';
import { createControlPlaneClient, createDataPlaneClient, type DataPlanePromiseClient } from '#proto';
import { createTestDatabase, startNova, type NovaProcess, type TestDatabase } from './nova-process.js';

export interface NovaFixture {
  database: TestDatabase;
  nova: NovaProcess;
  cp: ReturnType<typeof createControlPlaneClient>;
  dp: DataPlanePromiseClient;
}

/**
 * A unified server on its own database for the enclosing describe: started
 * before its tests, stopped after them. Read the fields inside tests.
 */
export function useNova(env: Record<string, string> = {}): NovaFixture {
  const fixture = {} as NovaFixture;
  before(async () => {
    fixture.database = await createTestDatabase();
    fixture.nova = await startNova({ env: { ...fixture.database.env, ...env } });
    fixture.cp = createControlPlaneClient({ address: fixture.nova.address });
    fixture.dp = createDataPlaneClient({ address: fixture.nova.address });
  });
  after(async () => {
    fixture.cp.close();
    fixture.dp.close();
    await fixture.nova.stop();
    await fixture.database.dispose();
  });
  return fixture;
}
