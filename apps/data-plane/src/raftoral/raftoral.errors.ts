import { errorClassFor, type ErrorKind } from '#server';

export enum RaftoralErrorCode {
  /** Nova keeps no Raft log: there are no Raft messages to receive. */
  NoRaftLog = 'NO_RAFT_LOG',
}

const kinds = {
  [RaftoralErrorCode.NoRaftLog]: 'unimplemented',
} as const satisfies Record<RaftoralErrorCode, ErrorKind>;

export class RaftoralError extends errorClassFor(kinds) {}

export const raftoralErrors = {
  noRaftLog: () =>
    new RaftoralError(
      RaftoralErrorCode.NoRaftLog,
      'Nova coordinates its nodes through PostgreSQL (leases, heartbeats, SKIP LOCKED), not Raft: ' +
        'there is no Raft log to send messages to; see nova.v1.Cluster and nova.v1.Workflows',
    ),
};
