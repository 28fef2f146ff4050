import { Module } from '@nestjs/common';
import { RuntimesModule } from '#runtimes';
import { FunctionsController } from './functions.controller.js';
import { FunctionsService } from './functions.service.js';

@Module({
  imports: [RuntimesModule],
  controllers: [FunctionsController],
  providers: [FunctionsService],
})
export class FunctionsModule {}
