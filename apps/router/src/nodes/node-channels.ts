import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES } from '#proto';
import { checkHealth } from './health-check.js';

/**
 * One gRPC channel per node address, made when the node is first routed to
 * and kept (HTTP/2 multiplexes every call on it); closed when the node
 * leaves. Calls on it carry bytes: the router never re-encodes a message.
 */
@Injectable()
export class NodeChannels implements OnModuleDestroy {
  private readonly clients = new Map<string, grpc.Client>();

  clientFor(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (!client) {
      client = new grpc.Client(address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
        'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
        // A node that died without closing its connections is found by pings, not by the next call's timeout.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
        // A restarted node is dialled again at once, not after grpc-js's backoff of up to two minutes.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1_000,
      });
      this.clients.set(address, client);
    }
    return client;
  }

  close(address: string): void {
    this.clients.get(address)?.close();
    this.clients.delete(address);
  }

  /** grpc.health.v1 Check of the whole server: true when it answers SERVING within the timeout. */
  async healthy(address: string, timeoutMs = 1000): Promise<boolean> {
    return (await checkHealth(this.clientFor(address), timeoutMs)) === 'serving';
  }

  onModuleDestroy(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
