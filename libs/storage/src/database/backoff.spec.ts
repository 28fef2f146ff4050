import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryDelayMs } from './backoff.js';

describe('retryDelayMs', () => {
  it('doubles from the base and stops at the maximum', () => {
    const top = (): number => 1;
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelayMs(attempt, 1000, 60_000, top)),
      [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000],
    );
  });

  it('jitters within the upper half of the nominal delay', () => {
    assert.equal(
      retryDelayMs(3, 1000, 60_000, () => 0),
      2000,
    );
    assert.equal(
      retryDelayMs(3, 1000, 60_000, () => 0.5),
      3000,
    );
    for (let i = 0; i < 100; i++) {
      const delay = retryDelayMs(2, 100, 60_000);
      assert.ok(delay >= 100 && delay <= 200, String(delay));
    }
  });
});
