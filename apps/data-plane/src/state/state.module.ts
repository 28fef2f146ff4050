import { Module } from '@nestjs/common';
import { StatehouseController } from './state.controller.js';
import { StateService } from './state.service.js';

/** statehouse.v1: transactional, versioned state for agents, on PostgreSQL. */
@Module({
  controllers: [StatehouseController],
  providers: [StateService],
  exports: [StateService],
})
export class StateModule {}
