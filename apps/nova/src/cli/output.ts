import { status as GrpcStatus } from '@grpc/grpc-js';

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

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Key: value lines, keys aligned. */
export function printRecord(record: Record<string, string | number | boolean>): void {
  const width = Math.max(...Object.keys(record).map((key) => key.length));
  for (const [key, value] of Object.entries(record))
    process.stdout.write(`${(key + ':').padEnd(width + 2)}${String(value)}\n`);
}

/** One clear line for any failure. */
export function describeError(error: unknown, address: string): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'number' && 'details' in error) {
    const code = error.code as GrpcStatus;
    const details = String(error.details);
    if (code === GrpcStatus.UNAVAILABLE) {
      const reason = /connect (E[A-Z]+)/.exec(details)?.[1] ?? details;
      return `cannot reach Nova at ${address} (${reason}); is \`nova daemon\` running? Set NOVA_ADDR to point elsewhere`;
    }
    return `${GrpcStatus[code]}: ${details}`;
  }
  return error instanceof Error ? error.message : String(error);
}
