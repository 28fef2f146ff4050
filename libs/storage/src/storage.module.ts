import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ApiKeysRepository } from './api-keys/api-keys.repository.js';
import { Database } from './database/database.js';
import { NotificationListener } from './database/notification-listener.js';
import { FunctionsRepository } from './functions/functions.repository.js';
import { InvocationsRepository } from './invocations/invocations.repository.js';
import { AsyncQueueRepository } from './invocations/async-queue.repository.js';
import { NodesRepository } from './nodes/nodes.repository.js';
import { AgentRegistryRepository } from './agents/agent-registry.repository.js';
import { StateRepository } from './state/state.repository.js';
import { WorkflowsRepository } from './workflows/workflows.repository.js';

/**
 * Makes an opened Database available to Nest: the Database, the
 * repositories and the NOTIFY listener. The process that opened the database
 * closes it (the listener with it), after the server has drained.
 */
@Global()
@Module({})
export class StorageModule {
  static forDatabase(database: Database): DynamicModule {
    return {
      module: StorageModule,
      providers: [
        { provide: Database, useValue: database },
        { provide: FunctionsRepository, useFactory: () => new FunctionsRepository(database.sql) },
        { provide: ApiKeysRepository, useFactory: () => new ApiKeysRepository(database.sql) },
        { provide: InvocationsRepository, useFactory: () => new InvocationsRepository(database.sql) },
        { provide: AsyncQueueRepository, useFactory: () => new AsyncQueueRepository(database.sql) },
        { provide: StateRepository, useFactory: () => new StateRepository(database.sql) },
        { provide: NodesRepository, useFactory: () => new NodesRepository(database.sql) },
        { provide: AgentRegistryRepository, useFactory: () => new AgentRegistryRepository(database.sql) },
        { provide: WorkflowsRepository, useFactory: () => new WorkflowsRepository(database.sql) },
        { provide: NotificationListener, useValue: database.listener },
      ],
      exports: [
        Database,
        FunctionsRepository,
        ApiKeysRepository,
        InvocationsRepository,
        AsyncQueueRepository,
        StateRepository,
        NodesRepository,
        AgentRegistryRepository,
        WorkflowsRepository,
        NotificationListener,
      ],
    };
  }
}
