import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchWriter } from './batch-writer.js';

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('BatchWriter', () => {
  it('writes what arrived within everyMs as one batch', async () => {
    const batches: number[][] = [];
    const writer = new BatchWriter<number>({
      write: (b) => Promise.resolve(void batches.push(b)),
      everyMs: 20,
      atSize: 100,
      maxBuffered: 1000,
      what: 'numbers',
    });
    writer.push(1);
    writer.push(2);
    assert.deepEqual(batches, []);
    await tick(40);
    assert.deepEqual(batches, [[1, 2]]);
  });

  it('writes at once at atSize, and flush writes the rest', async () => {
    const batches: number[][] = [];
    const writer = new BatchWriter<number>({
      write: (b) => Promise.resolve(void batches.push(b)),
      everyMs: 10_000,
      atSize: 3,
      maxBuffered: 1000,
      what: 'numbers',
    });
    for (const n of [1, 2, 3, 4]) writer.push(n);
    await writer.flush();
    assert.deepEqual(batches, [[1, 2, 3], [4]]);
    await writer.close();
  });

  it('keeps a failed batch and writes it with the next one', async () => {
    const batches: number[][] = [];
    let fail = true;
    const writer = new BatchWriter<number>({
      write: (b) => {
        if (fail) return Promise.reject(new Error('database away'));
        batches.push(b);
        return Promise.resolve();
      },
      everyMs: 10_000,
      atSize: 100,
      maxBuffered: 2,
      what: 'numbers',
    });
    writer.push(1);
    writer.push(2);
    writer.push(3);
    await writer.flush();
    assert.deepEqual(batches, []);
    fail = false;
    writer.push(4);
    await writer.close();
    assert.deepEqual(
      batches,
      [[2, 3, 4]],
      'the failed batch was cut to the newest maxBuffered, then written with what came after',
    );
  });
});
