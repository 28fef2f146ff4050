/** The agent platform's own shapes; field for field the agentplatform messages, so external endpoints get them as they are. */

export interface TaskInput {
  taskId: string;
  agentId: string;
  input: string;
  parameters: Record<string, string>;
  toolIds: string[];
  sessionId: string;
}

export interface TaskOutput {
  taskId: string;
  output: string;
  success: boolean;
  error: string;
  metadata: Record<string, string>;
  sessionId: string;
}

export interface TaskPiece {
  taskId: string;
  content: string;
  isFinal: boolean;
  sessionId: string;
}

export interface ToolInput {
  toolId: string;
  operation: string;
  parameters: Record<string, string>;
  sessionId: string;
}

export interface ToolOutput {
  success: boolean;
  result: string;
  error: string;
  sessionId: string;
}

export interface AgentStatus {
  agentId: string;
  status: 'healthy' | 'unhealthy';
  activeTasks: number;
  uptimeSeconds: number;
}

export interface TaskProgress {
  taskId: string;
  /** queued, running, succeeded or failed. */
  status: string;
  progress: string;
  result: string;
}

/** Who is calling and until when: passed to whatever runs the call. */
export interface CallContext {
  requestId: string;
  /** Epoch ms. */
  deadline: number | undefined;
  authorization: string;
}
