import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClaimLoop } from './claim-loop.js';

describe('ClaimLoop', () => {
  it('never runs more than its concurrency, though every claim comes back full and runs start late', async () => {
    let next = 0;
    let running = 0;
    let most = 0;
    const claimedRooms: number[] = [];
    const gates: (() => void)[] = [];
    const loop = new ClaimLoop<number>({
      concurrency: 4,
      claim: (room) => {
        claimedRooms.push(room);
        return Promise.resolve(Array.from({ length: room }, () => next++));
      },
      run: async () => {
        // The item counts as running only after an await, as a workflow does once its history is read.
        await Promise.resolve();
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running -= 1;
      },
      idOf: (item) => String(item),
      mayClaim: () => true,
      pollMs: 60_000,
      sweepEveryPolls: 1,
      sweep: () => Promise.resolve(),
      onError: (stage, error) => assert.fail(`${stage}: ${error.message}`),
    });
    loop.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(claimedRooms, [4], 'one claim for the whole room, none past it');
    assert.equal(most, 4);
    gates.shift()!();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(claimedRooms, [4, 1], 'an item that ends makes room for one');
    assert.equal(most, 4);
    const stopped = loop.stop();
    while (gates.length > 0) gates.shift()!();
    await stopped;
    assert.equal(running, 0, 'stop() waits for every running item');
  });
});
