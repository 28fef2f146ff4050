import { Module } from '@nestjs/common';
import { FunctionStateService } from './function-state.js';
import { StatehouseController } from './state.controller.js';
import { StateService } from './state.service.js';
import { StateMetrics } from './state-metrics.js';

/** statehouse.v1: transactional, versioned state for agents, on PostgreSQL; and the same state for function code. */
@Module({
  controllers: [StatehouseController],
  providers: [StateService, FunctionStateService, StateMetrics],
  exports: [StateService, FunctionStateService],
})
export class StateModule {}
