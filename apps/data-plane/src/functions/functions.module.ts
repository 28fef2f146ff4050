import { Module } from '@nestjs/common';
import { FunctionCatalog } from './function-catalog.js';

/** Every function's definition, cached in memory and kept current by NOTIFY. */
@Module({
  providers: [FunctionCatalog],
  exports: [FunctionCatalog],
})
export class FunctionsModule {}
