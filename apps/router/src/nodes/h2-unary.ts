import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import type { ClientTls } from '#proto';

/** What a unary call on a node came back with: its status, and the message when OK. */
export interface UnaryOutcome {
  code: grpc.status;
  details: string;
  response: Buffer | undefined;
  headers: grpc.Metadata | undefined;
  trailers: grpc.Metadata;
}

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_PATH, HTTP2_HEADER_METHOD, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE } =
  http2.constants;
/** Headers the transport owns; a caller's copies of them are not passed on. */
const HOP_HEADERS = new Set([
  'content-type',
  'te',
  'user-agent',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
]);

function outcome(code: grpc.status, details: string, trailers = new grpc.Metadata()): UnaryOutcome {
  return { code, details, response: undefined, headers: undefined, trailers };
}

/** grpc-timeout: the time left, in milliseconds (at least 1). */
function timeoutHeader(deadline: number): string {
  return `${Math.max(1, Math.ceil(deadline - Date.now()))}m`;
}

/**
 * Unary gRPC calls to one node straight over Node's HTTP/2 client: the
 * request message goes out as the 5-byte length prefix and the bytes the
 * caller sent, the answer comes back as bytes with its status and
 * metadata. It skips grpc-js's client machinery (resolver, load balancer,
 * filters, retries), which cost a router more CPU per call than the
 * node's whole server side; the router does its own picking and failover.
 * A failure before the request went out says so in its details
 * ("No connection established", "Stream refused"), so it may be sent to
 * another node.
 */
export class H2UnaryChannel {
  private session: http2.ClientHttp2Session | undefined;
  /** Sessions that reached the node; a stream on one that never did was never sent. */
  private readonly reached = new WeakSet<http2.ClientHttp2Session>();
  private lastConnectError = '';

  constructor(
    private readonly address: string,
    private readonly tls?: ClientTls,
  ) {}

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  call(
    path: string,
    message: Buffer,
    metadata: grpc.Metadata,
    deadline: number | undefined,
    cancelled?: (cancel: () => void) => void,
  ): Promise<UnaryOutcome> {
    return new Promise((resolve) => {
      const headers: http2.OutgoingHttpHeaders = {};
      for (const [key, value] of Object.entries(metadata.toHttp2Headers())) {
        if (!HOP_HEADERS.has(key)) headers[key] = value;
      }
      headers[HTTP2_HEADER_METHOD] = 'POST';
      headers[HTTP2_HEADER_PATH] = path;
      headers[HTTP2_HEADER_CONTENT_TYPE] = 'application/grpc';
      headers[HTTP2_HEADER_TE] = 'trailers';
      if (deadline !== undefined) {
        if (deadline <= Date.now()) return resolve(outcome(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'));
        headers['grpc-timeout'] = timeoutHeader(deadline);
      }
      let stream: http2.ClientHttp2Stream;
      let session: http2.ClientHttp2Session;
      try {
        session = this.connected();
        stream = session.request(headers, { endStream: false });
      } catch (error) {
        // A session that has received GOAWAY or closed takes no new stream: nothing was sent.
        this.session = undefined;
        return resolve(outcome(grpc.status.UNAVAILABLE, `No connection established: ${(error as Error).message}`));
      }
      let settled = false;
      const settle = (result: UnaryOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const timer =
        deadline === undefined
          ? undefined
          : setTimeout(
              () => {
                stream.close(http2.constants.NGHTTP2_CANCEL);
                settle(outcome(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'));
              },
              Math.max(1, deadline - Date.now()),
            );
      cancelled?.(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        settle(outcome(grpc.status.CANCELLED, 'Cancelled'));
      });

      let responseHeaders: http2.IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (incoming) => {
        responseHeaders = incoming;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('trailers', (trailers: http2.IncomingHttpHeaders) =>
        settle(this.finish(responseHeaders, trailers, chunks)),
      );
      stream.on('close', () => {
        if (settled) return;
        // Trailers-only answers (an error before any message) come as headers with the status in them.
        if (responseHeaders?.['grpc-status'] !== undefined) return settle(this.finish(undefined, responseHeaders, []));
        if (!this.reached.has(session)) {
          return settle(outcome(grpc.status.UNAVAILABLE, `No connection established: ${this.lastConnectError}`));
        }
        const refused = stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM;
        settle(
          outcome(
            grpc.status.UNAVAILABLE,
            refused
              ? 'Stream refused by the node (it is draining)'
              : responseHeaders
                ? `Connection dropped: the node stopped answering (RST_STREAM ${stream.rstCode})`
                : `Connection dropped before the answer (RST_STREAM ${stream.rstCode})`,
          ),
        );
      });
      stream.on('error', () => undefined);
      const prefix = Buffer.allocUnsafe(5);
      prefix[0] = 0;
      prefix.writeUInt32BE(message.length, 1);
      stream.end(Buffer.concat([prefix, message]));
    });
  }

  private finish(
    headers: http2.IncomingHttpHeaders | undefined,
    trailers: http2.IncomingHttpHeaders,
    chunks: Buffer[],
  ): UnaryOutcome {
    const code = Number(trailers['grpc-status'] ?? grpc.status.UNKNOWN) as grpc.status;
    const rawDetails = trailers['grpc-message'];
    const details = typeof rawDetails === 'string' ? decodeURIComponent(rawDetails) : '';
    const trailerMetadata = metadataOf(trailers);
    const headerMetadata = headers ? metadataOf(headers) : undefined;
    if (code !== grpc.status.OK) {
      return { code, details, response: undefined, headers: headerMetadata, trailers: trailerMetadata };
    }
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
      return outcome(grpc.status.INTERNAL, 'the node answered with a malformed message');
    }
    return { code, details, response: body.subarray(5), headers: headerMetadata, trailers: trailerMetadata };
  }

  private connected(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(`${this.tls ? 'https' : 'http'}://${this.address}`, {
      // The node's own limit on a message is the one that counts.
      maxSessionMemory: 64,
      settings: { enablePush: false },
      ...(this.tls ? { ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key } : {}),
    });
    session.once('connect', () => this.reached.add(session));
    session.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.reached.has(session)) this.lastConnectError = error.code ?? error.message;
    });
    session.on('goaway', () => {
      if (this.session === session) this.session = undefined;
    });
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.setTimeout(0);
    this.session = session;
    return session;
  }
}

/** gRPC metadata of HTTP/2 headers, without the transport's own (pseudo-headers, content-type, status). */
function metadataOf(headers: http2.IncomingHttpHeaders): grpc.Metadata {
  const kept: http2.IncomingHttpHeaders = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(':') || HOP_HEADERS.has(key) || key === 'grpc-status' || key === 'grpc-message') continue;
    if (key === 'date' || key === HTTP2_HEADER_STATUS) continue;
    kept[key] = value;
  }
  return grpc.Metadata.fromHttp2Headers(kept);
}
