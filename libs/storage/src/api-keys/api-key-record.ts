/** What a key may do. admin covers everything invoke does. */
export const apiKeyScopes = ['admin', 'invoke'] as const;
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
