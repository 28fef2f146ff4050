import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { dataPlane } from '#proto';
import { RequiredScope } from '#server';
import { NodeHealthService } from './node-health.service.js';

/**
 * nova.v1.DataPlane/Health: database, runtimes, instances.
 */
@Controller()
@RequiredScope('invoke')
export class HealthController {
  constructor(private readonly health: NodeHealthService) {}

  @GrpcMethod('DataPlane', 'Health')
  async health_(): Promise<dataPlane.HealthResponse> {
    const result = await this.health.check();
    return { status: result.healthy ? 'healthy' : 'unhealthy', components: result.components };
  }
}
