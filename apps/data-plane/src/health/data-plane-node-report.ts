import { Injectable } from '@nestjs/common';
import { RuntimeCatalog } from '#runtimes';
import { NodeReport } from '#server';
import type { NodeLoad } from '#storage';
import { InstancePoolService } from '../pool/instance-pool.service.js';

/** This node's runtimes and load as the cluster sees them: calls running or waiting, and instances up. */
@Injectable()
export class DataPlaneNodeReport extends NodeReport {
  constructor(
    private readonly runtimeCatalog: RuntimeCatalog,
    private readonly pools: InstancePoolService,
  ) {
    super();
  }

  runtimes(): string[] {
    return this.runtimeCatalog.list().map((runtime) => runtime.id);
  }

  load(): NodeLoad {
    const instances = this.pools.summary();
    return {
      inFlight: instances.busy + instances.starting + instances.queued,
      warmInstances: instances.idle + instances.busy,
    };
  }
}
