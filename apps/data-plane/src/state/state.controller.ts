import { Controller } from '@nestjs/common';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { statehouse } from '#proto';
import { RequiredScope, ServerStopping, buildInfo } from '#server';
import { StateService } from './state.service.js';
import { toDelete, toReplayEvent, toStateEntry, toStateResponse, toWrite } from './state.convert.js';

/** Resolves when the call's buffer drains or the signal aborts, leaving no listener behind either way. */
function drained(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    call.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** statehouse.v1.StatehouseService; each RPC converts its request, makes one service call, converts the answer. */
@Controller()
@RequiredScope('state')
@statehouse.StatehouseServiceControllerMethods()
export class StatehouseController implements statehouse.StatehouseServiceController {
  constructor(
    private readonly state: StateService,
    private readonly stopping: ServerStopping,
  ) {}

  health(): statehouse.HealthResponse {
    return { status: 'ok' };
  }

  version(): statehouse.VersionResponse {
    return buildInfo();
  }

  async beginTransaction(request: statehouse.BeginTransactionRequest): Promise<statehouse.BeginTransactionResponse> {
    return { txnId: await this.state.begin(request.timeoutMs) };
  }

  async write(request: statehouse.WriteRequest): Promise<statehouse.WriteResponse> {
    await this.state.stage(toWrite(request));
    return {};
  }

  async delete(request: statehouse.DeleteRequest): Promise<statehouse.DeleteResponse> {
    await this.state.stage(toDelete(request));
    return {};
  }

  async commit(request: statehouse.CommitRequest): Promise<statehouse.CommitResponse> {
    return { commitTs: await this.state.commit(request.txnId) };
  }

  async abort(request: statehouse.AbortRequest): Promise<statehouse.AbortResponse> {
    await this.state.abort(request.txnId);
    return {};
  }

  async getState(request: statehouse.GetStateRequest): Promise<statehouse.GetStateResponse> {
    return toStateResponse(await this.state.get(request));
  }

  async getStateAtVersion(request: statehouse.GetStateAtVersionRequest): Promise<statehouse.GetStateAtVersionResponse> {
    return toStateResponse(await this.state.getAtVersion(request, request.version));
  }

  async listKeys(request: statehouse.ListKeysRequest): Promise<statehouse.ListKeysResponse> {
    return { keys: await this.state.listKeys(request.namespace, request.agentId) };
  }

  async scanPrefix(request: statehouse.ScanPrefixRequest): Promise<statehouse.ScanPrefixResponse> {
    const entries = await this.state.scanPrefix(request.namespace, request.agentId, request.prefix);
    return { entries: entries.map(toStateEntry) };
  }

  replay(
    request: statehouse.ReplayRequest,
    _metadata: unknown,
    call: ServerWritableStream<statehouse.ReplayRequest, statehouse.ReplayEvent>,
  ): Observable<statehouse.ReplayEvent> {
    return new Observable((subscriber) => {
      // Cancelled by the client (unsubscribe) or ended by a draining server.
      const done = new AbortController();
      const onStopping = (): void => done.abort();
      this.stopping.signal.addEventListener('abort', onStopping, { once: true });
      const pages = this.state.replay(
        {
          namespace: request.namespace,
          agentId: request.agentId,
          startTs: request.startTs,
          endTs: request.endTs,
          follow: request.follow,
        },
        done.signal,
      );
      void (async () => {
        try {
          for await (const page of pages) {
            // A page goes out whole: waiting for a drain after every event (grpc-js
            // buffers 16 messages) cost one pass of the event loop and one socket
            // write per 16 events. Flow control: the next page is read only once
            // the client has taken this one.
            for (const event of page) subscriber.next(toReplayEvent(event));
            if (call.writableNeedDrain) await drained(call, done.signal);
            if (done.signal.aborted) break;
          }
          subscriber.complete();
        } catch (error) {
          subscriber.error(error);
        }
      })();
      return () => {
        done.abort();
        this.stopping.signal.removeEventListener('abort', onStopping);
      };
    });
  }
}
