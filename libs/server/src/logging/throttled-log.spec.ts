import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogLevel } from '../config/settings.js';
import { JsonLogger, type LogFields } from './json-logger.js';
import { ThrottledLog } from './throttled-log.js';

class RecordingLogger extends JsonLogger {
  readonly lines: { level: LogLevel; msg: string; fields?: LogFields }[] = [];
  override write(level: LogLevel, msg: string, fields?: LogFields): void {
    this.lines.push({ level, msg, fields });
  }
}

describe('ThrottledLog', () => {
  it('writes a repeated message once per interval with the count it held back', () => {
    const logger = new RecordingLogger();
    let now = 0;
    const log = new ThrottledLog(logger, 1000, () => now);
    for (let i = 0; i < 50; i++) {
      log.write('warn', 'could not claim', { error: 'ECONNREFUSED' });
      now += 100;
    }
    // 5 s of one failure every 100 ms: lines at 0, 1000, 2000, 3000, 4000.
    assert.equal(logger.lines.length, 5);
    assert.deepEqual(logger.lines[0], { level: 'warn', msg: 'could not claim', fields: { error: 'ECONNREFUSED' } });
    assert.deepEqual(logger.lines[1]!.fields, { error: 'ECONNREFUSED', repeatedSinceLastLine: 9 });
  });

  it('throttles each message on its own and starts afresh after reset', () => {
    const logger = new RecordingLogger();
    const log = new ThrottledLog(logger, 1000, () => 0);
    log.write('warn', 'a');
    log.write('warn', 'b');
    log.write('warn', 'a');
    log.reset('a');
    log.write('warn', 'a');
    assert.deepEqual(
      logger.lines.map((line) => line.msg),
      ['a', 'b', 'a'],
    );
  });
});
