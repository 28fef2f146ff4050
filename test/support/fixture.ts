import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before } from 'node:test';
import {
  createControlPlaneClient,
  createDataPlaneClient,
  type controlPlane,
  type dataPlane,
  type DataPlanePromiseClient,
} from '#proto';
import { isProcessAlive } from '#storage';
import { createTestDatabase, startNova, type NovaProcess, type TestDatabase } from './nova-process.js';
import { createRequest, invokeRequest } from './requests.js';

export interface NovaFixture {
  database: TestDatabase;
  nova: NovaProcess;
  cp: ReturnType<typeof createControlPlaneClient>;
  dp: DataPlanePromiseClient;
}

export interface FixtureOptions {
  /**
   * After the tests: the server exits 0 on SIGTERM, and none of the runtime
   * processes it started outlives it (it must have started some).
   */
  checkCleanExit?: boolean;
}

/** Processes whose parent is pid, from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/**
 * A unified server on its own database for the enclosing describe: started
 * before its tests, stopped after them. Read the fields inside tests. Every
 * test makes its own functions (names unique within the file).
 */
export function useNova(env: Record<string, string> = {}, options: FixtureOptions = {}): NovaFixture {
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
    const children = options.checkCleanExit ? childrenOf(fixture.nova.child.pid!) : [];
    const code = await fixture.nova.stop();
    await fixture.database.dispose();
    if (options.checkCleanExit) {
      assert.ok(children.length > 0, 'the server had started runtime processes');
      assert.equal(code, 0);
      assert.deepEqual(children.filter(isProcessAlive), [], 'no runtime process outlives the server');
    }
  });
  return fixture;
}

/** The two calls most tests make, on a fixture's server. */
export function callsOf(fixture: NovaFixture): {
  create: (overrides: Partial<controlPlane.CreateFunctionRequest>) => Promise<controlPlane.FunctionInfo>;
  invoke: (
    fn: string,
    payload?: string | Buffer,
    overrides?: Partial<dataPlane.InvokeRequest>,
  ) => Promise<dataPlane.InvokeResponse>;
} {
  return {
    create: (overrides) => fixture.cp.createFunction(createRequest(overrides)),
    invoke: (fn, payload = '', overrides = {}) => fixture.dp.invoke(invokeRequest(fn, Buffer.from(payload), overrides)),
  };
}

export function outputText(response: dataPlane.InvokeResponse): string {
  return Buffer.from(response.output).toString('utf8');
}

export function outputJson(response: dataPlane.InvokeResponse): unknown {
  return JSON.parse(outputText(response)) as unknown;
}
