import { Module } from '@nestjs/common';
import { NodeSandbox } from './node-sandbox.js';

/** The node's sandbox: isolation probe, code and work directories, the warm pool of generic processes. */
@Module({
  providers: [NodeSandbox],
  exports: [NodeSandbox],
})
export class SandboxModule {}
