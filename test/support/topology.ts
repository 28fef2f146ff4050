import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createUrlDatabase, runCli, startNova, type NovaProcess } from './nova-process.js';

export interface Topology {
  databaseUrl: string;
  env: Record<string, string>;
  controlPlane: NovaProcess;
  /** By node id: dp-0, dp-1, ... */
  dataPlanes: Map<string, NovaProcess>;
  routers: NovaProcess[];
  /** Starts one more data-plane node under this id. */
  addDataPlane(id: string): Promise<NovaProcess>;
}

export interface TopologyOptions {
  dataPlanes: number;
  routers: number;
  env?: Record<string, string>;
}

/**
 * A cluster on loopback for the enclosing describe, as README's "Running a
 * cluster" starts it: one database migrated once with `nova migrate`, a
 * control plane, data-plane nodes (ids dp-0, dp-1, ...) and routers, each
 * its own process on its own port. Stopped after the tests.
 */
export function useTopology(options: TopologyOptions): Topology {
  const topology = { dataPlanes: new Map(), routers: [] } as unknown as Topology;
  let dispose: () => Promise<void> = () => Promise.resolve();
  before(async () => {
    const database = await createUrlDatabase();
    dispose = () => database.dispose();
    topology.databaseUrl = database.url;
    // Heartbeats every 250 ms: dead after 750 ms, so the tests wait less.
    topology.env = { DATABASE_URL: database.url, NOVA_HEARTBEAT_MS: '250', ...options.env };
    const migrated = await runCli(['migrate'], topology.env);
    assert.equal(migrated.code, 0, migrated.stderr);
    topology.addDataPlane = async (id) => {
      const node = await startNova({ env: { ...topology.env, NOVA_NODE_ID: id }, args: ['--mode', 'dataplane'] });
      topology.dataPlanes.set(id, node);
      return node;
    };
    const [controlPlane] = await Promise.all([
      startNova({ env: topology.env, args: ['--mode', 'controlplane'] }),
      ...Array.from({ length: options.dataPlanes }, (_, i) => topology.addDataPlane(`dp-${i}`)),
    ]);
    topology.controlPlane = controlPlane;
    topology.routers = await Promise.all(
      Array.from({ length: options.routers }, () => startNova({ env: topology.env, args: ['--mode', 'router'] })),
    );
  });
  after(async () => {
    await Promise.all(
      [...topology.routers, ...topology.dataPlanes.values(), topology.controlPlane]
        .filter((process) => process !== undefined)
        .map((process) => process.stop()),
    );
    await dispose();
  });
  return topology;
}
