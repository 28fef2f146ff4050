import { Controller } from '@nestjs/common';
import { controlPlane } from '#proto';
import { RequiredScope } from '#server';
import { RuntimeCatalog } from '#runtimes';
import { FunctionsService } from './functions.service.js';
import {
  toAliasInfo,
  toAliasSpec,
  toFunctionChanges,
  toFunctionInfo,
  toFunctionSpec,
  toRuntimeInfo,
  toVersionInfo,
} from './functions.convert.js';

/** nova.v1.ControlPlane; each RPC converts its request, makes one service call, converts the answer. */
@Controller()
@RequiredScope('admin')
@controlPlane.ControlPlaneControllerMethods()
export class FunctionsController implements controlPlane.ControlPlaneController {
  constructor(
    private readonly functions: FunctionsService,
    private readonly runtimes: RuntimeCatalog,
  ) {}

  async createFunction(request: controlPlane.CreateFunctionRequest): Promise<controlPlane.FunctionInfo> {
    return toFunctionInfo(await this.functions.create(toFunctionSpec(request)));
  }

  async getFunction(request: controlPlane.GetFunctionRequest): Promise<controlPlane.FunctionInfo> {
    return toFunctionInfo(await this.functions.get(request.name));
  }

  async listFunctions(request: controlPlane.ListFunctionsRequest): Promise<controlPlane.ListFunctionsResponse> {
    const page = await this.functions.list(request.limit, request.offset);
    return { functions: page.functions.map(toFunctionInfo), total: page.total };
  }

  async updateFunction(request: controlPlane.UpdateFunctionRequest): Promise<controlPlane.FunctionInfo> {
    return toFunctionInfo(await this.functions.update(request.name, toFunctionChanges(request)));
  }

  async deleteFunction(request: controlPlane.DeleteFunctionRequest): Promise<controlPlane.DeleteFunctionResponse> {
    await this.functions.delete(request.name);
    return { success: true };
  }

  async updateFunctionCode(
    request: controlPlane.UpdateFunctionCodeRequest,
  ): Promise<controlPlane.UpdateFunctionCodeResponse> {
    const stored = await this.functions.updateCode(request.name, request.code, request.handler);
    return { success: true, codeHash: stored.codeHash, version: stored.version, unchanged: stored.unchanged };
  }

  async setAlias(request: controlPlane.SetAliasRequest): Promise<controlPlane.AliasInfo> {
    return toAliasInfo(await this.functions.setAlias(toAliasSpec(request)));
  }

  async getAlias(request: controlPlane.GetAliasRequest): Promise<controlPlane.AliasInfo> {
    return toAliasInfo(await this.functions.getAlias(request.function, request.name));
  }

  async listAliases(request: controlPlane.ListAliasesRequest): Promise<controlPlane.ListAliasesResponse> {
    return { aliases: (await this.functions.listAliases(request.function)).map(toAliasInfo) };
  }

  async deleteAlias(request: controlPlane.DeleteAliasRequest): Promise<controlPlane.DeleteAliasResponse> {
    await this.functions.deleteAlias(request.function, request.name);
    return { success: true };
  }

  async listFunctionVersions(
    request: controlPlane.ListFunctionVersionsRequest,
  ): Promise<controlPlane.ListFunctionVersionsResponse> {
    return { versions: (await this.functions.listVersions(request.name)).map(toVersionInfo) };
  }

  listRuntimes(): controlPlane.ListRuntimesResponse {
    return { runtimes: this.runtimes.list().map(toRuntimeInfo) };
  }
}
