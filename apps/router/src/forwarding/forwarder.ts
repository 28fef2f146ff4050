import { Inject, Injectable } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import { JsonLogger, NOVA_CONFIG, deadlineOf, type NovaConfig } from '#server';
import { NodeChannels } from '../nodes/node-channels.js';
import { NodeDirectory, type PlaneName, type RoutedNode } from '../nodes/node-directory.js';
import { rankFor } from '../nodes/rendezvous.js';
import { ForwardMetrics } from './forward-metrics.js';
import { FunctionCapacities } from './function-capacities.js';
import { functionNameOf } from './function-name.js';

/** A call as the router sends it on: where to, how to pick, whether it may be sent twice. */
export interface ForwardedCall {
  path: string;
  plane: PlaneName;
  affinity: boolean;
  idempotent: boolean;
}

interface Outcome {
  error?: grpc.ServiceError;
  response?: Buffer;
  initial?: grpc.Metadata;
  trailer?: grpc.Metadata;
}

const identity = (bytes: Buffer): Buffer => bytes;
const callOptionsOf = (call: grpc.ServerWritableStream<Buffer, Buffer>): grpc.CallOptions => ({
  // A stream's deadline and cancellation pass to the node's call as they are (unary calls: h2-unary.ts).
  parent: call,
  propagate_flags: grpc.propagate.DEFAULTS,
});
/** The words for a call that never reached the node (grpc-js's and h2-unary's): no connection, or a refused stream. */
const NEVER_SENT = /No connection established|ECONNREFUSED|connect E[A-Z]+|Stream refused|REFUSED_STREAM/i;
const RANK_CACHE_LIMIT = 10_000;

/**
 * Sends calls on to nodes as bytes: picks the nodes in order (the
 * function's rendezvous rank with overflow past saturated nodes, or round
 * robin), and fails over to the next when a node cannot be reached. A
 * call that may have started on a node that then failed is not sent again
 * unless it only reads: it fails with UNAVAILABLE.
 */
@Injectable()
export class Forwarder {
  private readonly logger = new JsonLogger('router');
  private turn = 0;
  private rankGeneration = -1;
  private readonly ranks = new Map<string, readonly RoutedNode[]>();
  /** Calls in flight from this router, per node and function. */
  private readonly inFlight = new Map<RoutedNode, Map<string, number>>();

  private readonly affinity: boolean;

  constructor(
    private readonly directory: NodeDirectory,
    private readonly channels: NodeChannels,
    private readonly capacities: FunctionCapacities,
    private readonly metrics: ForwardMetrics,
    @Inject(NOVA_CONFIG) config: NovaConfig,
  ) {
    this.affinity = config.router.balance === 'affinity';
  }

  unary(route: ForwardedCall, call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    void this.forwardUnary(route, call, callback);
  }

  serverStream(route: ForwardedCall, call: grpc.ServerWritableStream<Buffer, Buffer>): void {
    void this.forwardStream(route, call);
  }

  /** The nodes to try, in order, and the function the call is counted against. */
  private plan(route: ForwardedCall, request: Buffer): { nodes: readonly RoutedNode[]; fn: string | undefined } {
    const routable = this.directory.routable(route.plane);
    const fn = route.affinity && this.affinity ? functionNameOf(request) : undefined;
    if (fn === undefined || routable.length <= 1) return { nodes: this.rotated(routable), fn };
    const ranked = this.rankOf(fn, routable);
    // Overflow: the first node in rank not running as many of the function's calls as it has instances for.
    const capacity = this.capacities.of(fn);
    const free = ranked.findIndex((node) => this.loadOf(node, fn) < capacity);
    if (free <= 0) return { nodes: ranked, fn };
    return { nodes: [ranked[free]!, ...ranked.slice(0, free), ...ranked.slice(free + 1)], fn };
  }

  private rotated(nodes: readonly RoutedNode[]): readonly RoutedNode[] {
    if (nodes.length <= 1) return nodes;
    const start = this.turn++ % nodes.length;
    if (this.turn >= Number.MAX_SAFE_INTEGER) this.turn = 0;
    return start === 0 ? nodes : [...nodes.slice(start), ...nodes.slice(0, start)];
  }

  private rankOf(fn: string, routable: readonly RoutedNode[]): readonly RoutedNode[] {
    if (this.rankGeneration !== this.directory.version || this.ranks.size >= RANK_CACHE_LIMIT) {
      this.ranks.clear();
      this.rankGeneration = this.directory.version;
    }
    let ranked = this.ranks.get(fn);
    if (!ranked) {
      ranked = rankFor(routable, fn);
      this.ranks.set(fn, ranked);
    }
    return ranked;
  }

  private loadOf(node: RoutedNode, fn: string): number {
    return this.inFlight.get(node)?.get(fn) ?? 0;
  }

  private count(node: RoutedNode, fn: string | undefined, delta: number): void {
    if (fn === undefined) return;
    let byFunction = this.inFlight.get(node);
    if (!byFunction) this.inFlight.set(node, (byFunction = new Map<string, number>()));
    const next = (byFunction.get(fn) ?? 0) + delta;
    if (next > 0) byFunction.set(fn, next);
    else {
      byFunction.delete(fn);
      if (byFunction.size === 0) this.inFlight.delete(node);
    }
  }

  private async forwardUnary(
    route: ForwardedCall,
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    callback: grpc.sendUnaryData<Buffer>,
  ): Promise<void> {
    const outcome = await this.sendUnary(route, call.request, call.metadata, deadlineOf(call), call);
    if (call.cancelled) return;
    if (outcome.initial) call.sendMetadata(outcome.initial);
    if (outcome.error) callback(outcome.error);
    else callback(null, outcome.response, outcome.trailer);
  }

  /**
   * A unary call of Nova's own (the agent platform's), routed like a
   * client's: answers the response bytes or throws the node's status error.
   */
  async request(route: ForwardedCall, request: Buffer, metadata: grpc.Metadata, deadline?: number): Promise<Buffer> {
    const outcome = await this.sendUnary(route, request, metadata, deadline, undefined);
    if (outcome.error) throw outcome.error;
    return outcome.response!;
  }

  /** Tries the planned nodes in order until one answers or the call may not go on; the last outcome. */
  private async sendUnary(
    route: ForwardedCall,
    request: Buffer,
    metadata: grpc.Metadata,
    deadline: number | undefined,
    call: grpc.ServerUnaryCall<Buffer, Buffer> | undefined,
  ): Promise<Outcome> {
    const { nodes, fn } = this.plan(route, request);
    // The client cancelling ends the attempt in flight (cancellation passes through).
    const onCancel = call && ((cancel: () => void) => call.once('cancelled', cancel));
    let last: grpc.ServiceError | undefined;
    for (const node of nodes) {
      if (call?.cancelled) break;
      this.count(node, fn, 1);
      const answer = await this.channels.unaryFor(node.address).call(route.path, request, metadata, deadline, onCancel);
      this.count(node, fn, -1);
      this.metrics.attempt(node.id, answer.code);
      if (answer.code === grpc.status.OK) {
        this.directory.succeeded(node);
        return {
          response: answer.response!,
          trailer: answer.trailers,
          ...(answer.headers ? { initial: answer.headers } : {}),
        };
      }
      const error = Object.assign(new Error(`${answer.code} ${grpc.status[answer.code]}: ${answer.details}`), {
        code: answer.code,
        details: answer.details,
        metadata: answer.trailers,
      });
      if (!this.mayTryNext(route, node, error))
        return { error, ...(answer.headers ? { initial: answer.headers } : {}) };
      last = error;
    }
    return { error: this.noNode(route, last) };
  }

  /**
   * A server stream of Nova's own, routed like a client's: the messages as
   * bytes. It fails over only before the first message.
   */
  async *stream(
    route: ForwardedCall,
    request: Buffer,
    metadata: grpc.Metadata,
    deadline: number | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<Buffer> {
    const { nodes, fn } = this.plan(route, request);
    let last: grpc.ServiceError | undefined;
    for (const node of nodes) {
      if (signal.aborted) return;
      const call = this.channels
        .clientFor(node.address)
        .makeServerStreamRequest(
          route.path,
          identity,
          identity,
          request,
          metadata,
          deadline === undefined ? {} : { deadline },
        );
      const cancel = (): void => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
      let received = false;
      this.count(node, fn, 1);
      try {
        for await (const message of call as AsyncIterable<Buffer>) {
          received = true;
          yield message;
        }
        this.metrics.attempt(node.id, grpc.status.OK);
        this.directory.succeeded(node);
        return;
      } catch (error) {
        const failure = error as grpc.ServiceError;
        this.metrics.attempt(node.id, failure.code);
        if (received || signal.aborted || !this.mayTryNext(route, node, failure)) throw failure;
        last = failure;
      } finally {
        this.count(node, fn, -1);
        signal.removeEventListener('abort', cancel);
        call.cancel();
      }
    }
    throw this.noNode(route, last);
  }

  private async forwardStream(route: ForwardedCall, call: grpc.ServerWritableStream<Buffer, Buffer>): Promise<void> {
    const { nodes, fn } = this.plan(route, call.request);
    let last: grpc.ServiceError | undefined;
    for (const node of nodes) {
      if (call.cancelled) return;
      this.count(node, fn, 1);
      const failed = await this.attemptStream(node, route, call);
      this.count(node, fn, -1);
      if (!failed) return;
      last = failed;
    }
    call.emit('error', this.noNode(route, last));
  }

  /**
   * Relays one node's stream; answers the error when the call may go to the
   * next node (nothing was relayed yet and it may be sent again), undefined
   * when the call is over.
   */
  private attemptStream(
    node: RoutedNode,
    route: ForwardedCall,
    call: grpc.ServerWritableStream<Buffer, Buffer>,
  ): Promise<grpc.ServiceError | undefined> {
    return new Promise((resolve) => {
      let relayed = false;
      let initial: grpc.Metadata | undefined;
      const startRelaying = (): void => {
        if (relayed) return;
        relayed = true;
        if (initial) call.sendMetadata(initial);
      };
      const forwarded = this.channels
        .clientFor(node.address)
        .makeServerStreamRequest(route.path, identity, identity, call.request, call.metadata, callOptionsOf(call));
      forwarded.on('metadata', (metadata: grpc.Metadata) => (initial = metadata));
      forwarded.on('data', (chunk: Buffer) => {
        startRelaying();
        // Flow control end to end: a slow client slows the node, nothing piles up here.
        if (!call.write(chunk)) {
          forwarded.pause();
          call.once('drain', () => forwarded.resume());
        }
      });
      forwarded.on('error', (error: grpc.ServiceError) => {
        this.metrics.attempt(node.id, error.code);
        if (!relayed && this.mayTryNext(route, node, error)) return resolve(error);
        startRelaying();
        call.emit('error', error);
        resolve(undefined);
      });
      // The stream is over when the node's status is in and every message before it was relayed.
      let trailer: grpc.Metadata | undefined;
      let ended = false;
      const finish = (): void => {
        if (!trailer || !ended) return;
        this.metrics.attempt(node.id, grpc.status.OK);
        this.directory.succeeded(node);
        startRelaying();
        call.end(trailer);
        resolve(undefined);
      };
      forwarded.on('end', () => {
        ended = true;
        finish();
      });
      forwarded.on('status', (status: grpc.StatusObject) => {
        if (status.code !== grpc.status.OK) return;
        trailer = status.metadata;
        finish();
      });
    });
  }

  /** Whether the failed call may go to the next node; a failure to reach the node counts against it. */
  private mayTryNext(route: ForwardedCall, node: RoutedNode, error: grpc.ServiceError): boolean {
    if (error.code !== grpc.status.UNAVAILABLE) {
      // A node that answered is up, whatever it answered.
      this.directory.succeeded(node);
      return false;
    }
    const neverSent = NEVER_SENT.test(error.details);
    this.directory.failed(node, error.details);
    if (neverSent || route.idempotent) return true;
    this.logger.warn('call failed on a node that stopped answering; not sent again (it may have run)', {
      path: route.path,
      node: node.id,
      details: error.details,
    });
    return false;
  }

  private noNode(route: ForwardedCall, last: grpc.ServiceError | undefined): grpc.ServiceError {
    if (last) return last;
    this.metrics.noNode();
    const details = `no live ${route.plane} node to send ${route.path} to`;
    return Object.assign(new Error(details), {
      code: grpc.status.UNAVAILABLE,
      details,
      metadata: new grpc.Metadata(),
    });
  }
}
