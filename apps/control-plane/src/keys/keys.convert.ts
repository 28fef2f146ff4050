import type { keyAdmin } from '#proto';
import type { ApiKeyRecord } from '#storage';

/** A key as KeyAdmin shows it: never its secret, which exists only in CreateKey's answer. */
export function toKeyInfo(record: ApiKeyRecord): keyAdmin.KeyInfo {
  return {
    id: record.id,
    prefix: record.prefix,
    scope: record.scope,
    description: record.description,
    createdAt: record.createdAt.toISOString(),
    revokedAt: record.revokedAt?.toISOString() ?? '',
  };
}
