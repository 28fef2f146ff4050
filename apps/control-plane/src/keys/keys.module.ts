import { Module } from '@nestjs/common';
import { KeyAdminController } from './keys.controller.js';
import { KeysService } from './keys.service.js';

/** nova.v1.KeyAdmin and the first-start key. */
@Module({
  controllers: [KeyAdminController],
  providers: [KeysService],
})
export class KeysModule {}
