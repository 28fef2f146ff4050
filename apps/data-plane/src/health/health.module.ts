import { Module } from '@nestjs/common';
import { InvokeModule } from '../invoke/invoke.module.js';
import { HealthController } from './health.controller.js';
import { NodeHealthService } from './node-health.service.js';

@Module({
  imports: [InvokeModule],
  controllers: [HealthController],
  providers: [NodeHealthService],
})
export class HealthModule {}
