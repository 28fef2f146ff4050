import { SetMetadata } from '@nestjs/common';
import type { ApiKeyScope } from '#storage';

export const REQUIRED_SCOPE = 'nova:required-scope';

/**
 * The scope a key needs for the RPCs of a controller (or one handler).
 * Undecorated RPCs need admin: forgetting the decorator fails closed.
 */
export const RequiredScope = (scope: ApiKeyScope): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_SCOPE, scope);
