import type { NovaClientOptions } from '#proto';

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
