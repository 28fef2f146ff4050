import type { Command } from 'commander';
import { Nova } from '#client';
import type { ClosableClient, NovaClientOptions } from '#proto';

/** How the CLI reaches a Nova server: NOVA_ADDR and NOVA_API_KEY, overridden by flags. */
export interface ClientFlags {
  addr?: string;
  apiKey?: string;
}

export function clientOptions(flags: ClientFlags, env: Record<string, string | undefined>): NovaClientOptions {
  // gRPC takes host:port; a URL as people paste it (http://host:port/) is read the same.
  const address = (flags.addr ?? env['NOVA_ADDR'] ?? 'localhost:9090')
    .replace(/^(?:https?|grpc):\/\//, '')
    .replace(/\/+$/, '');
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

/** Runs one command's calls with the SDK's Nova client, closed afterwards. */
export function withNova<T>(command: Command, call: (nova: Nova) => Promise<T>): Promise<T> {
  return withClient(command, (options) => new Nova(options), call);
}

/**
 * Parses a whole-number flag. Below `min` it is refused here: the wire's 0
 * means "the default", which a user who typed 0 did not ask for. Otherwise
 * the server's rule for the field answers with its range, as for every client.
 */
export function integer(name: string, min?: number): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value)) throw new Error(`${name} must be a whole number (got "${value}")`);
    const parsed = Number(value);
    if (min !== undefined && parsed < min) throw new Error(`${name} must be at least ${min} (got ${parsed})`);
    return parsed;
  };
}
