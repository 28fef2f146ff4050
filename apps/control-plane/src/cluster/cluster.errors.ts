import { errorClassFor, type ErrorKind } from '#server';

/** Errors of cluster membership. */
export enum ClusterErrorCode {
  NodeNotFound = 'NODE_NOT_FOUND',
  NodeAlive = 'NODE_ALIVE',
}

const kinds = {
  [ClusterErrorCode.NodeNotFound]: 'not_found',
  [ClusterErrorCode.NodeAlive]: 'failed_precondition',
} as const satisfies Record<ClusterErrorCode, ErrorKind>;

export class ClusterError extends errorClassFor(kinds) {}

export const clusterErrors = {
  nodeNotFound: (id: string) => new ClusterError(ClusterErrorCode.NodeNotFound, `no node "${id.slice(0, 128)}"`),
  nodeAlive: (id: string) =>
    new ClusterError(
      ClusterErrorCode.NodeAlive,
      `node "${id.slice(0, 128)}" still heartbeats: only a dead node can be removed ` +
        '(stop it; a node that stops cleanly leaves the cluster by itself)',
    ),
};
