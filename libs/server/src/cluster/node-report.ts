import type { NodeLoad } from '#storage';

/**
 * What a plane tells the cluster about this node beyond its address: the
 * runtimes it runs and its load at each heartbeat. The data plane provides
 * one; a node without it (a control plane alone) reports none.
 */
export abstract class NodeReport {
  abstract runtimes(): string[];
  abstract load(): NodeLoad;
}
