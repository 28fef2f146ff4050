import type { Command } from 'commander';
import type { ClosableClient, NovaClientOptions } from '#proto';

/** How the CLI reaches a Nova server: NOVA_ADDR and NOVA_API_KEY, overridden by flags. */
export interface ClientFlags {
  addr?: string;
  apiKey?: string;
}

export function clientOptions(flags: ClientFlags, env: Record<string, string | undefined>): NovaClientOptions {
  const address = flags.addr ?? env['NOVA_ADDR'] ?? 'localhost:9090';
  const apiKey = flags.apiKey ?? env['NOVA_API_KEY'];
  return { address, ...(apiKey ? { apiKey } : {}) };
}

/** Runs one command's calls with a client made for it, closed afterwards. */
export async function withClient<C extends ClosableClient, T>(
  command: Command,
  create: (options: NovaClientOptions) => C,
  call: (client: C) => Promise<T>,
): Promise<T> {
  const client = create(clientOptions(command.optsWithGlobals<ClientFlags>(), process.env));
  try {
    return await call(client);
  } finally {
    client.close();
  }
}

/**
 * Parses a whole-number flag. Negative numbers pass: the server's rule for
 * the field then answers with its range, as it does for every client.
 */
export function integer(name: string): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new Error(`${name} must be a whole number (got "${value}")`);
    return Number(value);
  };
}
