import { Controller } from '@nestjs/common';
import { controlPlane } from '#proto';
import { RequiredScope } from '#server';
import { RuntimeCatalog } from '#runtimes';
import type { FunctionRecord } from '#storage';
import { FunctionsService } from './functions.service.js';

export function toFunctionInfo(record: FunctionRecord): controlPlane.FunctionInfo {
  return {
    id: record.id,
    name: record.name,
    runtime: record.runtime,
    handler: record.handler,
    memoryMb: record.memoryMb,
    timeoutS: record.timeoutS,
    mode: record.mode,
    minReplicas: record.minReplicas,
    maxReplicas: record.maxReplicas,
    network: record.network,
    version: record.version,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    envVars: record.envVars,
    codeHash: record.codeHash,
  };
}

@Controller()
@RequiredScope('admin')
@controlPlane.ControlPlaneControllerMethods()
export class FunctionsController implements controlPlane.ControlPlaneController {
  constructor(
    private readonly functions: FunctionsService,
    private readonly runtimes: RuntimeCatalog,
  ) {}

  async createFunction(request: controlPlane.CreateFunctionRequest): Promise<controlPlane.FunctionInfo> {
    return toFunctionInfo(await this.functions.create(request));
  }

  async getFunction(request: controlPlane.GetFunctionRequest): Promise<controlPlane.FunctionInfo> {
    return toFunctionInfo(await this.functions.get(request.name));
  }

  async listFunctions(request: controlPlane.ListFunctionsRequest): Promise<controlPlane.ListFunctionsResponse> {
    const page = await this.functions.list(request.limit, request.offset);
    return { functions: page.functions.map(toFunctionInfo), total: page.total };
  }

  async updateFunction(request: controlPlane.UpdateFunctionRequest): Promise<controlPlane.FunctionInfo> {
    return toFunctionInfo(await this.functions.update(request));
  }

  async deleteFunction(request: controlPlane.DeleteFunctionRequest): Promise<controlPlane.DeleteFunctionResponse> {
    await this.functions.delete(request.name);
    return { success: true };
  }

  async updateFunctionCode(
    request: controlPlane.UpdateFunctionCodeRequest,
  ): Promise<controlPlane.UpdateFunctionCodeResponse> {
    const stored = await this.functions.updateCode(request.name, request.code);
    return { success: true, codeHash: stored.codeHash, version: stored.version };
  }

  async listFunctionVersions(
    request: controlPlane.ListFunctionVersionsRequest,
  ): Promise<controlPlane.ListFunctionVersionsResponse> {
    const versions = await this.functions.listVersions(request.name);
    return {
      versions: versions.map((v) => ({
        version: v.version,
        codeHash: v.codeHash,
        sizeBytes: v.sizeBytes,
        createdAt: v.createdAt.toISOString(),
      })),
    };
  }

  listRuntimes(): controlPlane.ListRuntimesResponse {
    return {
      runtimes: this.runtimes.list().map((runtime) => ({
        id: runtime.id,
        name: runtime.name,
        version: runtime.version,
        imageName: '',
        entrypoint: [...runtime.entrypoint],
      })),
    };
  }
}
