import { Injectable } from '@nestjs/common';
import type { FunctionRecord } from '#storage';
import { RuntimeCatalog, type RuntimeDescriptor } from '#runtimes';
import { JsonLogger } from '#server';
import { FunctionCatalog } from '../functions/function-catalog.js';
import { attachEgress } from '../sandbox/egress.js';
import { NodeSandbox } from '../sandbox/node-sandbox.js';
import type { Instance } from './instance.js';
import { profileFor } from './launch.js';
import { poolErrors } from './pool.errors.js';

/**
 * Turns a generic warm process into an instance of one function: its code
 * staged on disk, a work directory, its memory limit, egress when it asks
 * for it, and the load frame. Counting against the node's caps is the
 * registry's job (InstancePoolService), not this one's.
 */
@Injectable()
export class InstanceLauncher {
  private readonly logger = new JsonLogger('pool');

  constructor(
    private readonly node: NodeSandbox,
    private readonly catalog: FunctionCatalog,
    private readonly runtimes: RuntimeCatalog,
  ) {}

  /** The runtime a function needs, or RUNTIME_UNAVAILABLE before anything is reserved. */
  runtimeOf(record: FunctionRecord): RuntimeDescriptor {
    const runtime = this.runtimes.find(record.runtime);
    if (!runtime) throw poolErrors.runtimeUnavailable(record.runtime);
    return runtime;
  }

  async launch(
    record: FunctionRecord,
    revision: string,
    runtime: RuntimeDescriptor,
  ): Promise<{ instance: Instance; loadLog: string }> {
    const { sandbox, warm } = this.node;
    const started = performance.now();
    const code = await this.catalog.codeOf(record);
    const prepared = await sandbox.prepareCode(record, code);
    const codeReady = performance.now();
    let instance: Instance;
    try {
      instance = await warm.take(profileFor(runtime, record.memoryMb));
    } catch (error) {
      throw poolErrors.startFailed(runtime.id, (error as Error).message);
    }
    const processReady = performance.now();
    const identity = sandbox.identityOf(record);
    try {
      let workDir = instance.sandboxWorkDir;
      if (workDir === undefined) {
        const dir = await sandbox.createWorkDir(instance.id, identity);
        instance.onExitOnce(() => void sandbox.removeWorkDir(dir, identity));
        workDir = dir;
      }
      await instance.cgroup?.setMemoryLimit(sandbox.instanceMemoryBytes(record.memoryMb));
      if (record.network === 'egress') await this.attachEgress(record, instance);
      const loadLog = await instance.load(
        {
          functionName: record.name,
          version: record.version,
          memoryMb: record.memoryMb,
          concurrency: record.concurrency,
          handler: record.handler,
          module: prepared.module,
          moduleFiles: prepared.moduleFiles,
          codeDir: prepared.codeDir,
          workDir,
          env: sandbox.environment(record, workDir),
          ...(identity ?? {}),
        },
        revision,
      );
      const loaded = performance.now();
      this.logger.debug('instance started', {
        function: record.name,
        version: record.version,
        codeMs: +(codeReady - started).toFixed(2),
        processMs: +(processReady - codeReady).toFixed(2),
        loadMs: +(loaded - processReady).toFixed(2),
      });
      return { instance, loadLog };
    } catch (error) {
      void instance.stop();
      throw error;
    }
  }

  /**
   * Fetches and writes a version's code as soon as it is announced, so that
   * its first call finds it on disk and pays only for loading it.
   */
  stageCode(record: FunctionRecord): void {
    if (!this.runtimes.find(record.runtime)) return;
    this.catalog
      .codeOf(record)
      .then((code) => this.node.sandbox.prepareCode(record, code))
      .catch((error: Error) =>
        this.logger.warn('could not stage code', { function: record.name, error: error.message }),
      );
  }

  private async attachEgress(record: FunctionRecord, instance: Instance): Promise<void> {
    const { isolation } = this.node;
    if (!isolation.bwrap) return; // without namespaces the instance already shares the host's network
    if (!isolation.slirp4netns) throw poolErrors.egressUnavailable(record.name);
    const pid = await instance.hostPid;
    if (pid === undefined) throw poolErrors.noNamespace();
    const detach = await attachEgress(isolation.slirp4netns, pid);
    instance.onExitOnce(detach);
  }
}
