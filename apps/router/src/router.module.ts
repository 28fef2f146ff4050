import { Module } from '@nestjs/common';
import { ForwardingModule } from './forwarding/forwarding.module.js';

/**
 * The front door in router mode: forwards nova.v1.DataPlane, statehouse.v1
 * and the control plane's services to live nodes found through the
 * cluster's membership (function affinity, round robin, failover).
 */
@Module({ imports: [ForwardingModule] })
export class RouterModule {}

/**
 * The router's part of unified mode: the planes are in the same process, so
 * calls go to them in-process and nothing is forwarded.
 */
@Module({})
export class UnifiedRouterModule {}
