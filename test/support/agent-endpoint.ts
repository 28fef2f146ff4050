import * as grpc from '@grpc/grpc-js';
import { serviceDefinitionOf, serviceNames, type agentPlatform } from '#proto';

/**
 * An agent outside Nova, as seed 004 runs them: its own gRPC server
 * implementing agentplatform.AgentService (no health service: routers
 * check it with a TCP connect). Answers "<label>: <input>".
 */
export interface ExternalAgent {
  port: number;
  label: string;
  served: number;
  stop(): void;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export async function startExternalAgent(label: string, port = 0): Promise<ExternalAgent> {
  const agent = { port, label, served: 0 } as ExternalAgent;
  let server: grpc.Server | undefined;
  const listen = async (): Promise<void> => {
    server = new grpc.Server();
    const definition = serviceDefinitionOf(serviceNames.agentService);
    server.addService(definition, {
      ExecuteTask: (
        call: grpc.ServerUnaryCall<agentPlatform.TaskRequest, agentPlatform.TaskResponse>,
        callback: grpc.sendUnaryData<agentPlatform.TaskResponse>,
      ) => {
        agent.served += 1;
        callback(null, {
          taskId: call.request.taskId,
          output: `${label}: ${call.request.input}`,
          success: true,
          error: '',
          metadata: { served_by: label },
          sessionId: call.request.sessionId,
        });
      },
      GetStatus: (
        call: grpc.ServerUnaryCall<agentPlatform.StatusRequest, agentPlatform.StatusResponse>,
        callback: grpc.sendUnaryData<agentPlatform.StatusResponse>,
      ) => callback(null, { agentId: call.request.agentId, status: 'healthy', activeTasks: 0, uptimeSeconds: 42 }),
    });
    agent.port = await new Promise<number>((resolve, reject) =>
      server!.bindAsync(`127.0.0.1:${agent.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
  };
  await listen();
  agent.stop = () => server?.forceShutdown();
  agent.restart = listen;
  return agent;
}
