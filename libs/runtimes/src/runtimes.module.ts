import { Global, Module } from '@nestjs/common';
import { RuntimeCatalog } from './runtime-catalog.js';

/** Probes the machine's runtimes once per process. */
@Global()
@Module({
  providers: [{ provide: RuntimeCatalog, useFactory: () => RuntimeCatalog.probe() }],
  exports: [RuntimeCatalog],
})
export class RuntimesModule {}
