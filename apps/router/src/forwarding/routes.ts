import { serviceNames } from '#proto';
import type { PlaneName } from '../nodes/node-directory.js';

/** How the router sends a service's calls on. */
export interface ForwardedService {
  service: string;
  plane: PlaneName;
  /** Methods whose calls go to their function's node (rendezvous rank); the rest spread round robin. */
  affinity: ReadonlySet<string>;
  /** Methods the router answers itself. */
  answered: ReadonlySet<string>;
}

/** What router mode serves by forwarding to a node of the right plane. */
export const forwardedServices: readonly ForwardedService[] = [
  {
    service: serviceNames.dataPlane,
    plane: 'data-plane',
    affinity: new Set(['Invoke', 'InvokeStream']),
    // Health says which nodes this router can reach.
    answered: new Set(['Health']),
  },
  { service: serviceNames.statehouse, plane: 'data-plane', affinity: new Set(), answered: new Set() },
  { service: serviceNames.workflows, plane: 'data-plane', affinity: new Set(), answered: new Set() },
  { service: serviceNames.workflowManagement, plane: 'data-plane', affinity: new Set(), answered: new Set() },
  { service: serviceNames.raftService, plane: 'data-plane', affinity: new Set(), answered: new Set() },
  { service: serviceNames.controlPlane, plane: 'control-plane', affinity: new Set(), answered: new Set() },
  { service: serviceNames.cluster, plane: 'control-plane', affinity: new Set(), answered: new Set() },
  { service: serviceNames.keyAdmin, plane: 'control-plane', affinity: new Set(), answered: new Set() },
];

/**
 * Calls that change nothing, so sending one again after it may have reached
 * a node that then failed is harmless: reads (waits and watches included), and Abort (idempotent).
 * Anything else is retried on another node only when it cannot have
 * reached the first (refused connection, refused stream).
 */
export function isIdempotent(method: string): boolean {
  return /^(Get|List|Scan|Health|Version|Replay|Tail|Abort|Watch|WaitFor|Discover)/.test(method);
}
