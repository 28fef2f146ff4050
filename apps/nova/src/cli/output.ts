import { status as GrpcStatus } from '@grpc/grpc-js';
import { NovaError } from '#client';

/** Prints rows as a table whose columns line up. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  process.stdout.write([line(headers), ...rows.map(line)].join('\n') + '\n');
}

/**
 * Prints what an SDK would return, as JSON: bytes fields (outputs, chunks)
 * as the JSON value they hold, or base64 when they hold something else.
 */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(toJsonShape(value), null, 2) + '\n');
}

export function toJsonShape(value: unknown): unknown {
  if (value instanceof Uint8Array) return decodeBytes(value);
  if (Array.isArray(value)) return value.map(toJsonShape);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, toJsonShape(field)]));
  }
  return value;
}

function decodeBytes(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return null;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buffer)) as unknown;
  } catch {
    return buffer.toString('base64');
  }
}

/** A timestamp for a table: local time, to the second ("2026-11-23 10:42:07"); --json keeps ISO. */
export function localTime(iso: string): string {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return (
    `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ` +
    `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}`
  );
}

/** Key: value lines, keys aligned. */
export function printRecord(record: Record<string, string | number | boolean>): void {
  const width = Math.max(...Object.keys(record).map((key) => key.length));
  for (const [key, value] of Object.entries(record))
    process.stdout.write(`${(key + ':').padEnd(width + 2)}${String(value)}\n`);
}

/** One clear line for any failure. */
export function describeError(error: unknown, address: string): string {
  // The SDK's errors carry the status by name; gRPC's by number.
  const failure =
    error instanceof NovaError
      ? { code: GrpcStatus[error.code as keyof typeof GrpcStatus] ?? GrpcStatus.UNKNOWN, details: error.message }
      : error;
  if (
    failure &&
    typeof failure === 'object' &&
    'code' in failure &&
    typeof failure.code === 'number' &&
    'details' in failure
  ) {
    const code = failure.code as GrpcStatus;
    const details = String(failure.details);
    if (code === GrpcStatus.UNAVAILABLE) {
      const reason = /connect (E[A-Z]+)/.exec(details)?.[1] ?? details;
      return (
        `cannot reach Nova at ${address} (${reason}); is \`nova daemon\` running? Set NOVA_ADDR to point elsewhere, ` +
        'and pass --tls-ca (NOVA_TLS_CA) if it serves TLS'
      );
    }
    if (code === GrpcStatus.UNAUTHENTICATED) {
      return `${GrpcStatus[code]}: ${details}; set NOVA_API_KEY or pass --api-key`;
    }
    return `${GrpcStatus[code]}: ${details}`;
  }
  return error instanceof Error ? error.message : String(error);
}
