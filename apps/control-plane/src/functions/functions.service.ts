import { Inject, Injectable } from '@nestjs/common';
import { NOVA_CONFIG, type NovaConfig } from '#server';
import {
  FunctionsRepository,
  type FunctionRecord,
  type FunctionSettingsPatch,
  type FunctionVersionRecord,
} from '#storage';
import { RuntimeCatalog } from '#runtimes';
import type { controlPlane } from '#proto';
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
  checkUpdateMask,
  type NodeCapacity,
} from './function-rules.js';
import { FunctionExistsError, FunctionNotFoundError } from './functions.errors.js';

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

  async create(request: controlPlane.CreateFunctionRequest): Promise<FunctionRecord> {
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
    if (created === 'name_taken') throw new FunctionExistsError(request.name);
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

  /** Applies fields that are set, or named in update_mask (see control_plane.proto). */
  async update(request: controlPlane.UpdateFunctionRequest): Promise<FunctionRecord> {
    const name = checkName(request.name);
    const mask = checkUpdateMask(request.updateMask);
    const applies = (field: Parameters<typeof mask.has>[0], isSet: boolean): boolean => isSet || mask.has(field);

    const patch: FunctionSettingsPatch = {};
    if (applies('memory_mb', request.memoryMb !== 0)) patch.memoryMb = checkMemoryMb(request.memoryMb);
    if (applies('timeout_s', request.timeoutS !== 0)) patch.timeoutS = checkTimeoutS(request.timeoutS);
    if (applies('env_vars', Object.keys(request.envVars).length > 0)) patch.envVars = checkEnvVars(request.envVars);
    if (applies('max_replicas', request.maxReplicas !== 0)) {
      patch.maxReplicas = checkMaxReplicas(request.maxReplicas, this.node);
    }
    if (applies('min_replicas', request.minReplicas !== 0)) patch.minReplicas = request.minReplicas;
    if (applies('network', request.network !== '')) patch.network = checkNetwork(request.network);

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
