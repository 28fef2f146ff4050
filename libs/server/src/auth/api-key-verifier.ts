import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ApiKeysRepository, NotificationListener, hashApiKey, notifyChannels, type ApiKeyRecord } from '#storage';

interface CacheEntry {
  key: ApiKeyRecord | undefined;
  expiresAt: number;
}

// Bounds how long a key revoked while the NOTIFY connection was down keeps working.
const CACHE_TTL_MS = 30_000;
const MAX_ENTRIES = 10_000;

/**
 * Checks bearer keys against the database, remembering answers so that a
 * call with a known key costs no query. A revocation anywhere clears every
 * node's cache through NOTIFY.
 */
@Injectable()
export class ApiKeyVerifier implements OnModuleInit {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly listener: NotificationListener,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.listener.subscribe(notifyChannels.apiKeys, () => this.cache.clear());
    this.listener.onReconnect(() => this.cache.clear());
  }

  async verify(key: string): Promise<ApiKeyRecord | undefined> {
    const digest = hashApiKey(key);
    const cached = this.cache.get(digest);
    const now = Date.now();
    if (cached && cached.expiresAt > now) return cached.key;
    const found = await this.keys.findActiveByKey(key);
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(digest, { key: found, expiresAt: now + CACHE_TTL_MS });
    return found;
  }
}
