import assert from 'node:assert/strict';
import { connect as http2Connect, constants as http2 } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { useNova } from './support/fixture.js';

/** Resolves with how long the server took to close the socket, or rejects past the limit. */
function closedWithin(socket: Socket, limitMs: number): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${limitMs} ms`));
    }, limitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Each connection costs the node a descriptor and memory: ones that do
 * nothing, never finish the handshake or stop answering are closed, and the
 * calls one connection may hold are bounded.
 */
describe('connections are not kept forever', () => {
  const fx = useNova({ NOVA_GRPC_IDLE_TIMEOUT_S: '2', NOVA_GRPC_KEEPALIVE_S: '1', NOVA_GRPC_MAX_STREAMS: '4' });

  it('drops a TCP connection that never starts its HTTP/2 handshake', async () => {
    const socket = await openSocket(fx.nova.port);
    socket.on('data', () => undefined);
    await closedWithin(socket, 10_000);
  });

  it('drops a half-open connection that sent its preface and then stopped answering', async () => {
    const socket = await openSocket(fx.nova.port);
    // The client preface and an empty SETTINGS frame, then silence: pings go unanswered.
    socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));
    socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    socket.on('data', () => undefined);
    await closedWithin(socket, 10_000);
  });

  it('sends GOAWAY to a healthy connection left idle, and clients reconnect on their next call', async () => {
    const session = http2Connect(`http://${fx.nova.address}`);
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    session.on('error', () => undefined);
    // Answers pings (node's http2 does) but makes no calls.
    assert.equal(await goaway, http2.NGHTTP2_NO_ERROR);
    await closed;
    // The generated client holds one channel; it reconnects by itself.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal((await fx.dp.health({})).status, 'healthy');
  });

  it('tells clients how many calls one connection may have open', async () => {
    const session = http2Connect(`http://${fx.nova.address}`);
    session.on('error', () => undefined);
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
      session.once('remoteSettings', resolve),
    );
    session.close();
    assert.equal(settings.maxConcurrentStreams, 4);
  });
});
