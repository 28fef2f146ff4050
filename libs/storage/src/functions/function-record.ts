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
  /** The latest code version. */
  version: number;
  /** Hex sha256 of the latest version's code. */
  codeHash: string;
  createdAt: Date;
  updatedAt: Date;
}

/** What a function is created with; the code becomes version 1. */
export type NewFunction = Omit<FunctionRecord, 'id' | 'version' | 'codeHash' | 'createdAt' | 'updatedAt'> & {
  code: Buffer;
};

/** Settings that UpdateFunction may change; absent ones stay as they are. */
export type FunctionSettingsPatch = Partial<
  Pick<FunctionRecord, 'memoryMb' | 'timeoutS' | 'minReplicas' | 'maxReplicas' | 'envVars'>
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
