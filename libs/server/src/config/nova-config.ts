import type { AuthMode, GrpcMode, ListenAddress, LogLevel } from './settings.js';

/** The one validated configuration object of a Nova process. */
export interface NovaConfig {
  grpc: {
    /** As written, e.g. ":9090". */
    addr: string;
    listen: ListenAddress;
    mode: GrpcMode;
  };
  /** Unset: Nova runs its own embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  /** Absolute. */
  dataDir: string;
  logLevel: LogLevel;
  auth: AuthMode;
  insecure: boolean;
  /** Where the YAML file came from, if one was read. */
  configFile: string | undefined;
}

export const NOVA_CONFIG = Symbol('NOVA_CONFIG');
