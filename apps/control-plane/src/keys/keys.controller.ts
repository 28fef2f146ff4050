import { Controller } from '@nestjs/common';
import { keyAdmin } from '#proto';
import { RequiredScope } from '#server';
import { KeysService } from './keys.service.js';
import { toKeyInfo } from './keys.convert.js';

/** nova.v1.KeyAdmin; admin keys only. */
@Controller()
@RequiredScope('admin')
@keyAdmin.KeyAdminControllerMethods()
export class KeyAdminController implements keyAdmin.KeyAdminController {
  constructor(private readonly keys: KeysService) {}

  async createKey(request: keyAdmin.CreateKeyRequest): Promise<keyAdmin.CreateKeyResponse> {
    const created = await this.keys.create(request.scope, request.description);
    return { key: created.key, info: toKeyInfo(created.record) };
  }

  async listKeys(): Promise<keyAdmin.ListKeysResponse> {
    return { keys: (await this.keys.list()).map(toKeyInfo) };
  }

  async revokeKey(request: keyAdmin.RevokeKeyRequest): Promise<keyAdmin.RevokeKeyResponse> {
    return { info: toKeyInfo(await this.keys.revoke(request.idOrPrefix)) };
  }
}
