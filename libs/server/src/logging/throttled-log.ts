import type { LogLevel } from '../config/settings.js';
import type { JsonLogger, LogFields } from './json-logger.js';

const DEFAULT_INTERVAL_MS = 30_000;

/**
 * For messages that repeat while something stays broken (a database that is
 * down fails every poll): the first occurrence is written at once, then at
 * most one line per interval, carrying how many were held back.
 */
export class ThrottledLog {
  private readonly lastWritten = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: JsonLogger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  write(level: LogLevel, message: string, fields?: LogFields): void {
    const seen = this.lastWritten.get(message);
    const now = this.now();
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.lastWritten.set(message, { at: now, suppressed: 0 });
    this.logger.write(level, message, suppressed > 0 ? { ...fields, repeatedSinceLastLine: suppressed } : fields);
  }

  /** Forgets a message, so that the next occurrence (a new outage) is written at once. */
  reset(message: string): void {
    this.lastWritten.delete(message);
  }
}
