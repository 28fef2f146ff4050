export const functionNetworks = ['none', 'egress'] as const;
export type FunctionNetwork = (typeof functionNetworks)[number];

/** A function as the rest of Nova sees it: its settings and latest code version. */
export interface FunctionRecord {
  id: string;
  name: string;
  runtime: string;
  handler: string;
  mode: string;
  memoryMb: number;
  timeoutS: number;
  minReplicas: number;
  maxReplicas: number;
  envVars: Record<string, string>;
  /** What its instances may reach. */
  network: FunctionNetwork;
  /** Calls one instance serves at once (1 but for node functions that allow more). */
  concurrency: number;
  /** Unique per function, assigned by the database: the node derives the function's uid and gid from it. */
  sandboxId: number;
  /** The latest code version. */
  version: number;
  /** Hex sha256 of the latest version's code. */
  codeHash: string;
  /** Where each alias sends calls, by alias name. */
  aliases: Record<string, AliasRoute>;
  createdAt: Date;
  updatedAt: Date;
}

/** An alias's target: a version, and optionally a canary share for a second one. */
export interface AliasRoute {
  version: number;
  /** 0 without a canary. */
  canaryVersion: number;
  /** Percent of calls (1-99) that go to canaryVersion; 0 without one. */
  canaryWeight: number;
}

export interface AliasRecord extends AliasRoute {
  functionName: string;
  name: string;
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What one version runs: its code and its handler. */
export interface VersionTarget {
  version: number;
  codeHash: string;
  handler: string;
}

/** What a function is created with; the code becomes version 1. */
export type NewFunction = Omit<
  FunctionRecord,
  'id' | 'version' | 'codeHash' | 'createdAt' | 'updatedAt' | 'sandboxId' | 'aliases'
> & {
  code: Buffer;
};

/** Settings that UpdateFunction may change; absent ones stay as they are. A new handler makes a version. */
export type FunctionSettingsPatch = Partial<
  Pick<
    FunctionRecord,
    'memoryMb' | 'timeoutS' | 'minReplicas' | 'maxReplicas' | 'envVars' | 'network' | 'handler' | 'concurrency'
  >
>;

export interface FunctionCode {
  version: number;
  codeHash: string;
  code: Buffer;
}

export interface FunctionVersionRecord {
  version: number;
  codeHash: string;
  handler: string;
  sizeBytes: number;
  /** Aliases that send calls to this version (as target or canary), by name. */
  aliases: string[];
  createdAt: Date;
}

/** What UpdateFunctionCode stored; unchanged when code and handler equal the latest version's. */
export interface StoredVersion {
  version: number;
  codeHash: string;
  unchanged: boolean;
}
