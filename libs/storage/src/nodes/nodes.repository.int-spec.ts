import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { waitUntil } from '../../../../test/support/wait.js';
import { NotificationListener } from '../database/notification-listener.js';
import { notifyChannels, type NodeChange } from '../database/notify-channels.js';
import type { NodeRegistration } from './node-record.js';
import { NodesRepository } from './nodes.repository.js';

const node = (id: string, overrides: Partial<NodeRegistration> = {}): NodeRegistration => ({
  id,
  address: `127.0.0.1:${9000 + id.length}`,
  planes: ['dataplane'],
  runtimes: ['python', 'node'],
  capacity: 10,
  version: '0.1.0',
  heartbeatMs: 1000,
  ...overrides,
});

// Cluster membership's queries against the real PostgreSQL, with the NOTIFYs they send.
describe('NodesRepository (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let nodes: NodesRepository;
  const changes: NodeChange[] = [];

  before(async () => {
    db = await openIntegrationDatabase();
    module = await compileFeature(db.database, { imports: [] });
    nodes = module.get(NodesRepository);
    await module
      .get(NotificationListener)
      .subscribe(notifyChannels.nodes, (payload) => changes.push(JSON.parse(payload) as NodeChange));
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  it('registers, heartbeats with load, drains and deregisters, notifying each change', async () => {
    await nodes.register(node('n1'));
    const registered = await nodes.get('n1');
    assert.equal(registered?.status, 'live');
    assert.deepEqual(registered?.runtimes, ['python', 'node']);
    assert.equal(await nodes.heartbeat('n1', { inFlight: 3, warmInstances: 2 }), 'live');
    const loaded = await nodes.get('n1');
    assert.deepEqual([loaded?.inFlight, loaded?.warmInstances], [3, 2]);
    assert.ok(loaded!.heartbeatAt >= registered.heartbeatAt);

    assert.equal((await nodes.drain('n1'))?.status, 'draining');
    assert.equal(await nodes.heartbeat('n1', { inFlight: 1, warmInstances: 2 }), 'draining', 'the node learns it');
    await nodes.deregister('n1');
    assert.equal(await nodes.get('n1'), undefined);
    assert.equal(await nodes.heartbeat('n1', { inFlight: 0, warmInstances: 0 }), undefined, 'gone: register again');
    assert.equal(await nodes.drain('n1'), undefined);

    await waitUntil('five notices of n1', () => changes.filter((change) => change.id === 'n1').length >= 5, 5000);
    assert.deepEqual(
      changes.filter((change) => change.id === 'n1').map((change) => change.op),
      ['registered', 'heartbeat', 'draining', 'heartbeat', 'deregistered'],
    );
  });

  it('counts a node dead after three of its intervals without a heartbeat, and removes only dead nodes', async () => {
    await nodes.register(node('fast', { heartbeatMs: 20 }));
    await nodes.register(node('slow', { heartbeatMs: 60_000 }));
    assert.equal(await nodes.remove('fast'), 'alive');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(
      (await nodes.list()).filter((n) => ['fast', 'slow'].includes(n.id)).map((n) => [n.id, n.status]),
      [
        ['fast', 'dead'],
        ['slow', 'live'],
      ],
    );
    assert.equal(await nodes.remove('slow'), 'alive');
    assert.equal(await nodes.remove('fast'), 'removed');
    assert.equal(await nodes.remove('fast'), 'unknown');
    await waitUntil(
      'the removal notice',
      () => changes.some((change) => change.id === 'fast' && change.op === 'removed'),
      5000,
    );

    // A dead node that comes back registers again and is live, its start time new.
    await nodes.register(node('slow', { address: '10.0.0.9:9090' }));
    const again = await nodes.get('slow');
    assert.deepEqual([again?.status, again?.address], ['live', '10.0.0.9:9090']);
  });

  it('numbers every node; a static member an operator adds keeps its number and is never dead, until removed', async () => {
    await nodes.register(node('numbered'));
    const numbered = (await nodes.get('numbered'))!;
    assert.ok(numbered.raftId > 0);
    assert.deepEqual(await nodes.addStatic(900_001, '10.1.2.3:7001'), { added: true });
    const added = (await nodes.get('900001'))!;
    assert.deepEqual(
      [added.status, added.raftId, added.address, added.planes],
      ['static', 900_001, '10.1.2.3:7001', []],
    );
    assert.equal(await nodes.highestRaftId(), 900_001);
    assert.deepEqual(await nodes.addStatic(numbered.raftId, '10.1.2.3:7002'), { added: false, takenBy: 'numbered' });
    await nodes.register(node('after-static'));
    assert.ok((await nodes.get('after-static'))!.raftId > 900_001, 'numbers handed out later start above it');
    // A Nova node that starts under the static member's id takes the record over, number and all.
    await nodes.register(node('900001'));
    assert.deepEqual([(await nodes.get('900001'))!.status, (await nodes.get('900001'))!.raftId], ['live', 900_001]);
    await nodes.deregister('900001');
    assert.deepEqual(await nodes.addStatic(950_000, '10.1.2.3:7003'), { added: true });
    assert.equal(await nodes.remove('950000'), 'removed');
  });
});
