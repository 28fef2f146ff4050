/** What a data-plane process says of itself when it joins the cluster. */
export interface NodeRegistration {
  id: string;
  /** host:port where routers reach it (NOVA_ADVERTISE_ADDR, or its listen address). */
  address: string;
  planes: string[];
  runtimes: string[];
  /** Instances it may run at once. */
  capacity: number;
  version: string;
  /** Its heartbeat interval: it is dead after three of them without one. */
  heartbeatMs: number;
}

/** What a node reports with each heartbeat. */
export interface NodeLoad {
  inFlight: number;
  warmInstances: number;
}

/**
 * live: takes calls; draining: finishes its work and takes none; dead: no
 * heartbeat for three intervals; static: added by an operator (Raftoral's
 * AddNode), never heartbeats and is never routed to.
 */
export type NodeStatus = 'live' | 'draining' | 'dead' | 'static';

export interface NodeRecord extends NodeRegistration, NodeLoad {
  status: NodeStatus;
  /** The node's number, as Raftoral's Discover and AddNode speak of nodes. */
  raftId: number;
  startedAt: Date;
  heartbeatAt: Date;
}
