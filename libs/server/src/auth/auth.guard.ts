import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Metadata } from '@grpc/grpc-js';
import { scopeAllows, type ApiKeyScope } from '#storage';
import { NOVA_CONFIG, type NovaConfig } from '../config/nova-config.js';
import { authErrors } from './auth.errors.js';
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
      throw authErrors.missingKey();
    }
    const key = await this.verifier.verify(match[1]!);
    if (!key) throw authErrors.unknownKey();
    if (!scopeAllows(key.scope, required)) {
      throw authErrors.scopeTooNarrow(required, key.scope);
    }
    return true;
  }
}
