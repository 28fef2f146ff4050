import { Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { NodeHealthService } from './node-health.service.js';

@Module({
  controllers: [HealthController],
  providers: [NodeHealthService],
  exports: [NodeHealthService],
})
export class HealthModule {}
