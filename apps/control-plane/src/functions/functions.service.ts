import { Inject, Injectable } from '@nestjs/common';
import { AliasNotFoundError, FunctionNotFoundError, NOVA_CONFIG, VersionNotFoundError, type NovaConfig } from '#server';
import {
  FunctionsRepository,
  type AliasRecord,
  type FunctionRecord,
  type FunctionSettingsPatch,
  type FunctionVersionRecord,
  type StoredVersion,
} from '#storage';
import { RuntimeCatalog } from '#runtimes';
import {
  checkAliasDescription,
  checkAliasName,
  checkAliasRoute,
  checkCode,
  checkCodeRunsHandler,
  checkEnvVars,
  checkHandler,
  checkMaxReplicas,
  checkMemoryMb,
  checkMinReplicas,
  checkMode,
  checkName,
  checkNetwork,
  checkConcurrency,
  checkConcurrencyFitsRuntime,
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
  concurrency: number;
}

/** The settings an update changes; absent ones stay as they are. */
export type FunctionChanges = Partial<
  Pick<
    FunctionSpec,
    'memoryMb' | 'timeoutS' | 'envVars' | 'minReplicas' | 'maxReplicas' | 'network' | 'handler' | 'concurrency'
  >
>;

/** An alias as a client asks to set it. */
export interface AliasSpec {
  functionName: string;
  name: string;
  version: number;
  canaryVersion: number;
  canaryWeight: number;
  description: string;
}

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
      concurrency: checkConcurrency(request.concurrency),
    };
    checkConcurrencyFitsRuntime(settings.concurrency, runtime);
    // Last: unpacking an archive is the most expensive check.
    const code = await checkCodeRunsHandler(checkCode(request.code), runtime, handler);
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
    if (changes.handler !== undefined) patch.handler = checkHandler(changes.handler);
    if (changes.concurrency !== undefined) patch.concurrency = checkConcurrency(changes.concurrency);

    if (Object.keys(patch).length === 0) return this.get(name);
    const updated = await this.functions.update(name, patch, async (current, next) => {
      checkMinReplicas(next.minReplicas, next.maxReplicas);
      checkReplicasFitNode(next, this.node);
      checkConcurrencyFitsRuntime(next.concurrency, current.runtime);
      if (next.handler !== current.handler) {
        const latest = await this.functions.findCode(name, current.version);
        if (latest) await checkCodeRunsHandler(latest.code, current.runtime, next.handler);
      }
    });
    if (!updated) throw new FunctionNotFoundError(name);
    return updated;
  }

  /** New code, and a new handler when one is given; identical code and handler make no version. */
  async updateCode(name: string, code: Uint8Array, handler: string): Promise<StoredVersion> {
    const current = await this.get(name);
    const runs = handler === '' ? current.handler : checkHandler(handler);
    const checked = await checkCodeRunsHandler(checkCode(code), current.runtime, runs);
    const stored = await this.functions.addVersion(name, checked, runs);
    if (!stored) throw new FunctionNotFoundError(name);
    return stored;
  }

  async setAlias(spec: AliasSpec): Promise<AliasRecord> {
    const functionName = checkName(spec.functionName, 'function');
    const name = checkAliasName(spec.name);
    const route = checkAliasRoute(spec);
    const description = checkAliasDescription(spec.description);
    const set = await this.functions.setAlias(functionName, { name, description, ...route });
    if (set === 'function_not_found') throw new FunctionNotFoundError(functionName);
    if ('missingVersion' in set) throw new VersionNotFoundError(functionName, set.missingVersion);
    return set;
  }

  async getAlias(functionName: string, name: string): Promise<AliasRecord> {
    const found = (await this.listAliases(functionName)).find((alias) => alias.name === name);
    if (!found) throw new AliasNotFoundError(functionName, name);
    return found;
  }

  async listAliases(functionName: string): Promise<AliasRecord[]> {
    const aliases = await this.functions.listAliases(checkName(functionName, 'function'));
    if (!aliases) throw new FunctionNotFoundError(functionName);
    return aliases;
  }

  async deleteAlias(functionName: string, name: string): Promise<void> {
    const deleted = await this.functions.deleteAlias(checkName(functionName, 'function'), name);
    if (deleted === 'function_not_found') throw new FunctionNotFoundError(functionName);
    if (!deleted) throw new AliasNotFoundError(functionName, name);
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
