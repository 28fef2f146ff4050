import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { MAX_MESSAGE_BYTES, channelCredentials, type ClientTls } from '#proto';
import { NOVA_CONFIG, type NovaConfig } from '#server';
import { checkHealth } from './health-check.js';
import { H2UnaryChannel } from './h2-unary.js';

/**
 * One connection per node address for unary calls and one gRPC channel for
 * streams, made when the node is first routed to and kept (HTTP/2
 * multiplexes every call on them); closed when the node leaves. Calls on
 * them carry bytes: the router never re-encodes a message. With NOVA_TLS_CA
 * both are TLS, verified against it, with this process's own certificate
 * (NOVA_TLS_CERT) for nodes that require one.
 */
@Injectable()
export class NodeChannels implements OnModuleDestroy {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly unaryChannels = new Map<string, H2UnaryChannel>();
  private readonly tls: ClientTls | undefined;
  private readonly credentials: grpc.ChannelCredentials;

  constructor(@Inject(NOVA_CONFIG) config: NovaConfig) {
    const nodes = config.tls.nodes;
    this.tls = nodes && {
      ...(nodes.ca ? { ca: nodes.ca } : {}),
      ...(nodes.cert && nodes.key ? { cert: nodes.cert, key: nodes.key } : {}),
    };
    this.credentials = channelCredentials(this.tls);
  }

  /** Unary calls go over plain HTTP/2 (h2-unary.ts); streams over grpc-js. */
  unaryFor(address: string): H2UnaryChannel {
    let channel = this.unaryChannels.get(address);
    if (!channel) {
      channel = new H2UnaryChannel(address, this.tls);
      this.unaryChannels.set(address, channel);
    }
    return channel;
  }

  clientFor(address: string): grpc.Client {
    let client = this.clients.get(address);
    if (!client) {
      client = new grpc.Client(address, this.credentials, {
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
    this.unaryChannels.get(address)?.close();
    this.unaryChannels.delete(address);
  }

  /** grpc.health.v1 Check of the whole server: true when it answers SERVING within the timeout. */
  async healthy(address: string, timeoutMs = 1000): Promise<boolean> {
    return (await checkHealth(this.clientFor(address), timeoutMs)) === 'serving';
  }

  onModuleDestroy(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    for (const channel of this.unaryChannels.values()) channel.close();
    this.unaryChannels.clear();
  }
}
