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
  /** Unique per function, assigned by the database: the node derives the function's uid and gid from it. */
  sandboxId: number;
  /** The latest code version. */
  version: number;
  /** Hex sha256 of the latest version's code. */
  codeHash: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What a function is created with; the code becomes version 1. */
export type NewFunction = Omit<
  FunctionRecord,
  'id' | 'version' | 'codeHash' | 'createdAt' | 'updatedAt' | 'sandboxId'
> & {
  code: Buffer;
};

/** Settings that UpdateFunction may change; absent ones stay as they are. */
export type FunctionSettingsPatch = Partial<
  Pick<FunctionRecord, 'memoryMb' | 'timeoutS' | 'minReplicas' | 'maxReplicas' | 'envVars' | 'network'>
>;

export interface FunctionCode {
  version: number;
  codeHash: string;
  code: Buffer;
}

export interface FunctionVersionRecord {
  version: number;
  codeHash: string;
  sizeBytes: number;
  createdAt: Date;
}
