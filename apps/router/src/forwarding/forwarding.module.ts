import { Global, Module } from '@nestjs/common';
import { FunctionInvoker } from '#server';
import { NodesModule } from '../nodes/nodes.module.js';
import { Forwarder } from './forwarder.js';
import { ForwardMetrics } from './forward-metrics.js';
import { FunctionCapacities } from './function-capacities.js';
import { RouterHealthReport } from './router-health.js';
import { RouterServices } from './router-services.js';
import { RoutedFunctionInvoker } from './routed-function-invoker.js';

/**
 * Router mode's forwarding of DataPlane, statehouse.v1 and the control
 * plane's services to nodes; and the process's FunctionInvoker, so that the
 * agent platform's functions run on the nodes the same way.
 */
@Global()
@Module({
  imports: [NodesModule],
  providers: [
    Forwarder,
    ForwardMetrics,
    FunctionCapacities,
    RouterHealthReport,
    RouterServices,
    { provide: FunctionInvoker, useClass: RoutedFunctionInvoker },
  ],
  exports: [RouterServices, FunctionInvoker],
})
export class ForwardingModule {}
