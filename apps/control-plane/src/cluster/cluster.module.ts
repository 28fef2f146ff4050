import { Module } from '@nestjs/common';
import { ClusterController } from './cluster.controller.js';
import { ClusterService } from './cluster.service.js';

/** nova.v1.Cluster: the nodes, their load and status; drain and remove. */
@Module({
  controllers: [ClusterController],
  providers: [ClusterService],
})
export class ClusterModule {}
