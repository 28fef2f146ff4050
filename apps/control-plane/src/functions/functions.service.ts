import { Inject, Injectable } from '@nestjs/common';
import { FunctionNotFoundError, NOVA_CONFIG, type NovaConfig } from '#server';
import {
  FunctionsRepository,
  type FunctionRecord,
  type FunctionSettingsPatch,
  type FunctionVersionRecord,
} from '#storage';
import { RuntimeCatalog } from '#runtimes';
import {
  checkCode,
  checkCodeArchive,
  checkEnvVars,
  checkHandler,
  checkMaxReplicas,
  checkMemoryMb,
  checkMinReplicas,
  checkMode,
  checkName,
  checkNetwork,
  checkPage,
  checkReplicasFitNode,
  checkRuntime,
  checkTimeoutS,
  type NodeCapacity,
} from './function-rules.js';
import { functionsErrors } from './functions.errors.js';

/** A function as a client asks for it, before any rule is checked. */
export interface FunctionSpec {
  name: string;
  runtime: string;
  handler: string;
  code: Uint8Array;
  memoryMb: number;
  timeoutS: number;
  mode: string;
  minReplicas: number;
  maxReplicas: number;
  envVars: Record<string, string>;
  network: string;
}

/** The settings an update changes; absent ones stay as they are. */
export type FunctionChanges = Partial<
  Pick<FunctionSpec, 'memoryMb' | 'timeoutS' | 'envVars' | 'minReplicas' | 'maxReplicas' | 'network'>
>;

/** Functions, their settings and code versions: every rule is checked here, every write goes to the repository. */
@Injectable()
export class FunctionsService {
  constructor(
    private readonly functions: FunctionsRepository,
    private readonly runtimes: RuntimeCatalog,
    @Inject(NOVA_CONFIG) private readonly config: NovaConfig,
  ) {}

  private get node(): NodeCapacity {
    return this.config.instances;
  }

  async create(request: FunctionSpec): Promise<FunctionRecord> {
    const name = checkName(request.name);
    const runtime = checkRuntime(request.runtime, this.runtimes.ids());
    const handler = checkHandler(request.handler);
    const memoryMb = checkMemoryMb(request.memoryMb);
    const maxReplicas = checkMaxReplicas(request.maxReplicas, this.node);
    const minReplicas = checkMinReplicas(request.minReplicas, maxReplicas);
    checkReplicasFitNode({ minReplicas, memoryMb }, this.node);
    const settings = {
      timeoutS: checkTimeoutS(request.timeoutS),
      envVars: checkEnvVars(request.envVars),
      mode: checkMode(request.mode),
      network: checkNetwork(request.network),
    };
    // Last: unpacking an archive is the most expensive check.
    const code = await checkCodeArchive(checkCode(request.code));
    const created = await this.functions.create({
      name,
      runtime,
      handler,
      code,
      memoryMb,
      maxReplicas,
      minReplicas,
      ...settings,
    });
    if (created === 'name_taken') throw functionsErrors.alreadyExists(request.name);
    return created;
  }

  async get(name: string): Promise<FunctionRecord> {
    const found = await this.functions.findByName(checkName(name));
    if (!found) throw new FunctionNotFoundError(name);
    return found;
  }

  async list(limit: number, offset: number): Promise<{ functions: FunctionRecord[]; total: number }> {
    const page = checkPage(limit, offset);
    return this.functions.list(page.limit, page.offset);
  }

  async update(name: string, changes: FunctionChanges): Promise<FunctionRecord> {
    checkName(name);
    const patch: FunctionSettingsPatch = {};
    if (changes.memoryMb !== undefined) patch.memoryMb = checkMemoryMb(changes.memoryMb);
    if (changes.timeoutS !== undefined) patch.timeoutS = checkTimeoutS(changes.timeoutS);
    if (changes.envVars !== undefined) patch.envVars = checkEnvVars(changes.envVars);
    if (changes.maxReplicas !== undefined) patch.maxReplicas = checkMaxReplicas(changes.maxReplicas, this.node);
    if (changes.minReplicas !== undefined) patch.minReplicas = changes.minReplicas;
    if (changes.network !== undefined) patch.network = checkNetwork(changes.network);

    if (Object.keys(patch).length === 0) return this.get(name);
    const updated = await this.functions.update(name, patch, (_current, next) => {
      checkMinReplicas(next.minReplicas, next.maxReplicas);
      checkReplicasFitNode(next, this.node);
    });
    if (!updated) throw new FunctionNotFoundError(name);
    return updated;
  }

  async updateCode(name: string, code: Uint8Array): Promise<{ version: number; codeHash: string }> {
    const stored = await this.functions.addVersion(checkName(name), await checkCodeArchive(checkCode(code)));
    if (!stored) throw new FunctionNotFoundError(name);
    return stored;
  }

  async listVersions(name: string): Promise<FunctionVersionRecord[]> {
    const versions = await this.functions.listVersions(checkName(name));
    if (!versions) throw new FunctionNotFoundError(name);
    return versions;
  }

  async delete(name: string): Promise<void> {
    if (!(await this.functions.delete(checkName(name)))) throw new FunctionNotFoundError(name);
  }
}
