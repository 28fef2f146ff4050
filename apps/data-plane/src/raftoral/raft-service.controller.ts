import { Controller } from '@nestjs/common';
import { raftoral } from '#proto';
import { RequiredScope } from '#server';
import { RaftoralService } from './raftoral.service.js';

/** raftoral.RaftService (seed 003) where it has meaning in Nova: membership, not Raft messages. */
@Controller()
@RequiredScope('admin')
@raftoral.RaftServiceControllerMethods()
export class RaftServiceController implements raftoral.RaftServiceController {
  constructor(private readonly raftoralService: RaftoralService) {}

  sendMessage(): raftoral.MessageResponse {
    return this.raftoralService.sendMessage();
  }

  async discover(): Promise<raftoral.DiscoveryResponse> {
    return {
      ...(await this.raftoralService.discover()),
      shouldJoinAsVoter: false,
      currentVoterCount: 0,
      maxVoters: 0,
    };
  }

  async addNode(request: raftoral.AddNodeRequest): Promise<raftoral.AddNodeResponse> {
    return this.raftoralService.addNode(request.nodeId, request.address);
  }
}
