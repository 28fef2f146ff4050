import { Global, Module } from '@nestjs/common';
import { NOVA_CONFIG, type NovaConfig } from '#server';
import { RuntimeCatalog } from './runtime-catalog.js';

/** Probes the machine's runtimes once per process. */
@Global()
@Module({
  providers: [
    {
      provide: RuntimeCatalog,
      inject: [NOVA_CONFIG],
      useFactory: (config: NovaConfig) => RuntimeCatalog.probe(config.path),
    },
  ],
  exports: [RuntimeCatalog],
})
export class RuntimesModule {}
