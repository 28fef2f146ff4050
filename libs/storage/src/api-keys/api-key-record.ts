/** What a key may do: invoke (the data plane), state (statehouse.v1); admin covers both and the rest. */
export const apiKeyScopes = ['admin', 'invoke', 'state'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export function scopeAllows(held: ApiKeyScope, required: ApiKeyScope): boolean {
  return held === 'admin' || held === required;
}

export interface ApiKeyRecord {
  id: string;
  prefix: string;
  scope: ApiKeyScope;
  description: string;
  createdAt: Date;
  revokedAt: Date | undefined;
}
