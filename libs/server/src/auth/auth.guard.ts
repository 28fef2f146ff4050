import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Metadata } from '@grpc/grpc-js';
import { scopeAllows, type ApiKeyScope } from '#storage';
import { NOVA_CONFIG, type NovaConfig } from '../config/nova-config.js';
import { DomainError } from '../errors/domain-error.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { REQUIRED_SCOPE } from './required-scope.decorator.js';

/**
 * With auth required, every Nest-handled RPC needs `authorization: Bearer
 * <key>` whose scope covers the one the handler declares. (Health and
 * reflection are served by grpc-js directly and stay open.)
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
    private readonly verifier: ApiKeyVerifier,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // Synchronous when auth is off: no promise on every call of the hot path.
    if (this.config.auth === 'off') return true;
    return this.check(context);
  }

  private async check(context: ExecutionContext): Promise<boolean> {
    const required =
      this.reflector.getAllAndOverride<ApiKeyScope | undefined>(REQUIRED_SCOPE, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'admin';
    const metadata = context.switchToRpc().getContext<Metadata>();
    const header = metadata.get('authorization')[0];
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      throw new DomainError('unauthenticated', 'missing API key: send the metadata "authorization: Bearer <key>"');
    }
    const key = await this.verifier.verify(match[1]!);
    if (!key) throw new DomainError('unauthenticated', 'unknown or revoked API key');
    if (!scopeAllows(key.scope, required)) {
      throw new DomainError(
        'permission_denied',
        `this call needs a key with the "${required}" scope; this key has "${key.scope}"`,
      );
    }
    return true;
  }
}
