import type { LoggerService } from '@nestjs/common';
import type { LogLevel } from '../config/settings.js';
import { currentRequestId } from './request-context.js';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = rank.info;

/** Sets the level below which nothing is written, for every JsonLogger. */
export function setLogLevel(level: LogLevel): void {
  threshold = rank[level];
}

export function isLogLevelEnabled(level: LogLevel): boolean {
  return rank[level] >= threshold;
}

export type LogFields = Record<string, unknown>;

/**
 * Structured logs: one JSON object per line on stdout, so that a log shipper
 * needs no parser; a line written while serving a call has its requestId.
 * Also serves as Nest's logger.
 */
export class JsonLogger implements LoggerService {
  /** routineLevel: the level of Nest's chatty `log` calls (module wiring at start). */
  constructor(
    private readonly component?: string,
    private readonly routineLevel: LogLevel = 'info',
  ) {}

  write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (rank[level] < threshold) return;
    const line: LogFields = { ts: new Date().toISOString(), level, msg };
    if (this.component) line['component'] = this.component;
    const requestId = currentRequestId();
    if (requestId) line['requestId'] = requestId;
    if (fields) Object.assign(line, fields);
    process.stdout.write(JSON.stringify(line) + '\n');
  }

  debug(message: unknown, fields?: LogFields | string): void {
    this.write('debug', String(message), asFields(fields));
  }
  info(message: unknown, fields?: LogFields | string): void {
    this.write('info', String(message), asFields(fields));
  }
  log(message: unknown, fields?: LogFields | string): void {
    this.write(this.routineLevel, String(message), asFields(fields));
  }
  warn(message: unknown, fields?: LogFields | string): void {
    this.write('warn', String(message), asFields(fields));
  }
  error(message: unknown, fields?: LogFields | string, context?: string): void {
    const extra = asFields(fields) ?? {};
    if (context) extra['context'] = context;
    this.write('error', String(message), extra);
  }
  verbose(message: unknown, fields?: LogFields | string): void {
    this.write('debug', String(message), asFields(fields));
  }
}

// Nest passes its context (the class name) as a trailing string argument.
function asFields(fields: LogFields | string | undefined): LogFields | undefined {
  if (fields === undefined) return undefined;
  return typeof fields === 'string' ? { context: fields } : fields;
}
