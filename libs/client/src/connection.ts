import type { ClientTls, NovaClientOptions } from '#proto/client';

export type { ClientTls };

export interface ClientOptions {
  /** host:port of a Nova process (unified, a plane that serves the calls, or a router). */
  address: string;
  /** Sent as `authorization: Bearer <key>`, when auth is on. */
  apiKey?: string;
  /**
   * Set: the connection is TLS, verified against `ca` (the system's CAs
   * when absent), with `cert` and `key` as client certificate for a server
   * that requires one (NOVA_TLS_CLIENT_CA).
   */
  tls?: ClientTls;
}

/** What the generated clients take, from the SDK's options (and nothing else of them). */
export function connectionOf(options: ClientOptions): NovaClientOptions {
  return {
    address: options.address,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
  };
}
