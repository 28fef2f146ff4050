import { Module } from '@nestjs/common';
import { NodesModule } from '../nodes/nodes.module.js';
import { Forwarder } from './forwarder.js';
import { FunctionCapacities } from './function-capacities.js';
import { RouterHealthReport } from './router-health.js';
import { RouterServices } from './router-services.js';

/** Router mode's forwarding of DataPlane, statehouse.v1 and the control plane's services to nodes. */
@Module({
  imports: [NodesModule],
  providers: [Forwarder, FunctionCapacities, RouterHealthReport, RouterServices],
  exports: [RouterServices],
})
export class ForwardingModule {}
