import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rankFor } from './rendezvous.js';

const nodes = (ids: string[]): { id: string }[] => ids.map((id) => ({ id }));
const functions = Array.from({ length: 3000 }, (_, i) => `fn-${i}`);

function homes(ids: string[]): Map<string, string> {
  return new Map(functions.map((fn) => [fn, rankFor(nodes(ids), fn)[0]!.id]));
}

describe('rendezvous ranking', () => {
  it('ranks every node once, the same way for the same key whatever the order of the nodes', () => {
    const ranked = rankFor(nodes(['a', 'b', 'c', 'd']), 'echo').map((node) => node.id);
    assert.deepEqual([...ranked].sort(), ['a', 'b', 'c', 'd']);
    assert.deepEqual(
      rankFor(nodes(['d', 'c', 'b', 'a']), 'echo').map((node) => node.id),
      ranked,
    );
  });

  it('spreads keys evenly over the nodes', () => {
    const counts = new Map<string, number>();
    for (const home of homes(['node-1:9090', 'node-2:9090', 'node-3:9090']).values()) {
      counts.set(home, (counts.get(home) ?? 0) + 1);
    }
    for (const count of counts.values()) assert.ok(count > 800 && count < 1200, `${count} of 3000 on one of 3 nodes`);
  });

  it('moves only the keys of a node that leaves, and only keys to a node that joins', () => {
    const before = homes(['n1', 'n2', 'n3']);
    const afterLeave = homes(['n1', 'n3']);
    for (const fn of functions) {
      if (before.get(fn) !== 'n2') assert.equal(afterLeave.get(fn), before.get(fn), fn);
    }
    const afterJoin = homes(['n1', 'n2', 'n3', 'n4']);
    let moved = 0;
    for (const fn of functions) {
      if (afterJoin.get(fn) !== before.get(fn)) {
        assert.equal(afterJoin.get(fn), 'n4', fn);
        moved += 1;
      }
    }
    assert.ok(moved > 500 && moved < 1000, `${moved} of 3000 moved to the fourth node`);
  });

  it('puts the next node in rank where the home would be without it (overflow and failover go there)', () => {
    for (const fn of functions.slice(0, 200)) {
      const ranked = rankFor(nodes(['n1', 'n2', 'n3']), fn).map((node) => node.id);
      const without = rankFor(nodes(ranked.slice(1)), fn).map((node) => node.id);
      assert.equal(without[0], ranked[1]);
    }
  });
});
