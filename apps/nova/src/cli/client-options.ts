import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Nova } from '#client';
import type { ClosableClient, NovaClientOptions } from '#proto';

/** How the CLI reaches a Nova server: NOVA_ADDR, NOVA_API_KEY and NOVA_TLS_*, overridden by flags. */
export interface ClientFlags {
  addr?: string;
  apiKey?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`${flag}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

const writtenAddress = (flags: ClientFlags, env: Record<string, string | undefined>): string =>
  flags.addr ?? env['NOVA_ADDR'] ?? 'localhost:9090';

/** host:port; a URL as people paste it (http://host:port/) is read the same. */
export function addressOf(flags: ClientFlags, env: Record<string, string | undefined>): string {
  return writtenAddress(flags, env)
    .replace(/^(?:https?|grpcs?):\/\//, '')
    .replace(/\/+$/, '');
}

export function clientOptions(flags: ClientFlags, env: Record<string, string | undefined>): NovaClientOptions {
  const written = writtenAddress(flags, env);
  const address = addressOf(flags, env);
  const apiKey = flags.apiKey ?? env['NOVA_API_KEY'];
  const ca = flags.tlsCa ?? (env['NOVA_TLS_CA'] || undefined);
  const cert = flags.tlsCert ?? (env['NOVA_TLS_CERT'] || undefined);
  const key = flags.tlsKey ?? (env['NOVA_TLS_KEY'] || undefined);
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error('--tls-cert and --tls-key go together (env NOVA_TLS_CERT, NOVA_TLS_KEY)');
  }
  const tls =
    ca !== undefined || cert !== undefined || /^(?:https|grpcs):/.test(written)
      ? {
          ...(ca !== undefined ? { ca: readPem(ca, '--tls-ca') } : {}),
          ...(cert !== undefined ? { cert: readPem(cert, '--tls-cert') } : {}),
          ...(key !== undefined ? { key: readPem(key, '--tls-key') } : {}),
        }
      : undefined;
  return { address, ...(apiKey ? { apiKey } : {}), ...(tls ? { tls } : {}) };
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
