import { Module } from '@nestjs/common';
import { AgentsModule } from './agents/agents.module.js';
import { ForwardingModule } from './forwarding/forwarding.module.js';

/**
 * The front door in router mode: forwards nova.v1.DataPlane, statehouse.v1
 * and the control plane's services to live nodes found through the
 * cluster's membership (function affinity, round robin, failover), and
 * serves the agent platform, whose functions run on those nodes.
 */
@Module({ imports: [ForwardingModule, AgentsModule] })
export class RouterModule {}

/**
 * The router's part of unified mode: the planes are in the same process, so
 * nothing is forwarded; the agent platform runs its functions in process.
 */
@Module({ imports: [AgentsModule] })
export class UnifiedRouterModule {}
