import { Module } from '@nestjs/common';
import { FunctionsController } from './functions.controller.js';
import { FunctionsService } from './functions.service.js';

@Module({
  controllers: [FunctionsController],
  providers: [FunctionsService],
})
export class FunctionsModule {}
