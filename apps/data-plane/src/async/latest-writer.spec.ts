import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatestWriter } from './latest-writer.js';

describe('LatestWriter', () => {
  it('writes the latest value once per period and the last one on flush, in order', async () => {
    const written: string[] = [];
    const writer = new LatestWriter<string>((value) => {
      written.push(value);
      return Promise.resolve();
    }, 30);
    for (let i = 1; i <= 100; i++) writer.offer(`step ${i}`);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.deepEqual(written, ['step 100'], 'a burst is one write');
    writer.offer('step 101');
    writer.offer('done');
    await writer.flush();
    assert.deepEqual(written, ['step 100', 'done']);
    await writer.flush();
    assert.deepEqual(written, ['step 100', 'done'], 'nothing pending, nothing written');
  });

  it('keeps going after a failed write', async () => {
    const written: string[] = [];
    let fail = true;
    const writer = new LatestWriter<string>((value) => {
      if (fail) {
        fail = false;
        return Promise.reject(new Error('database away'));
      }
      written.push(value);
      return Promise.resolve();
    }, 5);
    writer.offer('lost');
    await writer.flush();
    writer.offer('kept');
    await writer.flush();
    assert.deepEqual(written, ['kept']);
  });
});
