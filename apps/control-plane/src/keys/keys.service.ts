import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ApiKeysRepository, apiKeyScopes, type ApiKeyRecord, type ApiKeyScope } from '#storage';
import { InvalidArgumentError, JsonLogger, NOVA_CONFIG, type NovaConfig } from '#server';
import { keysErrors } from './keys.errors.js';

const DESCRIPTION_MAX = 256;

/** API keys: made, listed and revoked through nova.v1.KeyAdmin; the first one made at the first start. */
@Injectable()
export class KeysService implements OnApplicationBootstrap {
  private readonly logger = new JsonLogger('keys');

  constructor(
    private readonly keys: ApiKeysRepository,
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
  ) {}

  /**
   * With auth on and no key at all, nobody could call KeyAdmin: make one
   * admin key and print it, once, where the operator starting Nova sees it.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.auth !== 'required') return;
    const first = await this.keys.createFirstAdmin('made at the first start');
    if (!first) return;
    process.stderr.write(
      `\nAuth is on and no API key existed, so Nova made this admin key. It is shown only this once:\n\n` +
        `    ${first.key}\n\nexport NOVA_API_KEY=${first.key}   # then \`nova keys create --scope invoke\` for clients\n\n`,
    );
    this.logger.warn('made the first admin key and printed it on stderr', {
      id: first.record.id,
      prefix: first.record.prefix,
    });
  }

  create(scope: string, description: string): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!(apiKeyScopes as readonly string[]).includes(scope)) {
      throw new InvalidArgumentError(
        'scope',
        `"${scope.slice(0, 40)}" is not a scope; one of ${apiKeyScopes.join(', ')}`,
      );
    }
    if (description.length > DESCRIPTION_MAX) {
      throw new InvalidArgumentError(
        'description',
        `must be at most ${DESCRIPTION_MAX} characters (got ${description.length})`,
      );
    }
    return this.keys.create(scope as ApiKeyScope, description);
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.keys.list();
  }

  async revoke(idOrPrefix: string): Promise<ApiKeyRecord> {
    if (idOrPrefix === '') throw new InvalidArgumentError('id_or_prefix', 'is required');
    const revoked = await this.keys.revoke(idOrPrefix);
    if (!revoked) throw keysErrors.notFound(idOrPrefix);
    return revoked;
  }
}
