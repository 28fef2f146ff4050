import { Module } from '@nestjs/common';
import { AgentDirectory } from './agent-directory.js';
import {
  AgentRegistryController,
  AgentServiceController,
  TaskWorkerController,
  ToolServiceController,
} from './agent-platform.controllers.js';
import { AgentPlatformService } from './agent-platform.service.js';

/**
 * The agent platform (agentplatform.AgentService, ToolService, TaskWorker)
 * and its registry (nova.v1.AgentRegistry). Functions run through whatever
 * FunctionInvoker the process has: the data plane's in unified mode, the
 * router's in router mode.
 */
@Module({
  controllers: [AgentServiceController, ToolServiceController, TaskWorkerController, AgentRegistryController],
  providers: [AgentDirectory, AgentPlatformService],
})
export class AgentsModule {}
