import { Module } from '@nestjs/common';
import { NodeChannels } from './node-channels.js';
import { NodeDirectory } from './node-directory.js';

/** The cluster's nodes as this router sees them (NOTIFY-fed), and one channel to each. */
@Module({
  providers: [NodeDirectory, NodeChannels],
  exports: [NodeDirectory, NodeChannels],
})
export class NodesModule {}
