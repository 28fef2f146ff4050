import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { ConnectionError, Nova, type ClientTls } from '#client';
import { createDataPlaneClient } from '#proto';
import { ConfigError, loadConfig } from '#server';
import { makeTestCertificates } from './support/certificates.js';
import { useNova } from './support/fixture.js';
import { useTopology } from './support/topology.js';
import { runCli } from './support/nova-process.js';
import { codeOf } from './support/grpc-status.js';

const certificates = makeTestCertificates();
after(() => rm(certificates.dir, { recursive: true, force: true }));
const { ca, node, client, stranger } = certificates;

const echo = Buffer.from('def handler(event):\n    return {"echo": event}\n');

/** Makes a function and invokes it over the given connection; its answer, or the error thrown. */
async function roundTrip(address: string, tls: ClientTls | undefined, name: string): Promise<unknown> {
  const nova = new Nova({ address, ...(tls ? { tls } : {}) });
  try {
    await nova.createFunction({ name, runtime: 'python', handler: 'handler', code: echo });
    const result = await nova.invoke(name, { n: 1 });
    return JSON.parse(Buffer.from(result.output).toString());
  } finally {
    nova.close();
  }
}

function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  return [];
}

describe('TLS settings', () => {
  it('refuses half a pair, a key of another certificate, unreadable files and a client CA without TLS', () => {
    assert.match(
      configProblems({ NOVA_TLS_CERT: node.certFile }).join('\n'),
      /NOVA_TLS_CERT and NOVA_TLS_KEY go together/,
    );
    assert.match(
      configProblems({ NOVA_TLS_CERT: node.certFile, NOVA_TLS_KEY: client.keyFile }).join('\n'),
      /NOVA_TLS_KEY: .*client\.key is not the key of the certificate in .*node\.pem/,
    );
    assert.match(
      configProblems({ NOVA_TLS_CERT: '/nonexistent.pem', NOVA_TLS_KEY: node.keyFile }).join('\n'),
      /NOVA_TLS_CERT: cannot read \/nonexistent\.pem: ENOENT/,
    );
    assert.match(
      configProblems({ NOVA_TLS_CA: node.keyFile }).join('\n'),
      /NOVA_TLS_CA: .*node\.key holds no PEM certificate/,
    );
    assert.match(
      configProblems({ NOVA_TLS_CLIENT_CA: ca.certFile }).join('\n'),
      /NOVA_TLS_CLIENT_CA asks clients for certificates, which needs TLS/,
    );
  });

  it('counts TLS without client certificates as open in protected mode, and mutual TLS as closed', () => {
    const everywhere = { NOVA_GRPC_ADDR: ':9090', NOVA_TLS_CERT: node.certFile, NOVA_TLS_KEY: node.keyFile };
    assert.match(configProblems(everywhere).join('\n'), /listens beyond this machine while auth is off/);
    assert.deepEqual(configProblems({ ...everywhere, NOVA_TLS_CLIENT_CA: ca.certFile }), []);
  });
});

describe('TLS (NOVA_TLS_CERT, NOVA_TLS_KEY)', () => {
  const fx = useNova({ NOVA_TLS_CERT: node.certFile, NOVA_TLS_KEY: node.keyFile });

  it('serves calls over TLS to a client that trusts its CA', async () => {
    assert.deepEqual(await roundTrip(fx.nova.address, { ca: ca.cert }, 'tls-echo'), { echo: { n: 1 } });
    assert.ok(fx.nova.logLines().some((line) => line['msg'] === 'nova listening' && line['tls'] === 'on'));
  });

  it('refuses plaintext on the TLS port', async () => {
    const plaintext = createDataPlaneClient({ address: fx.nova.address });
    try {
      assert.equal(await codeOf(plaintext.health({}, { timeoutMs: 5000 })), status.UNAVAILABLE);
    } finally {
      plaintext.close();
    }
  });

  it('is refused by a client that does not trust its certificate', async () => {
    await assert.rejects(roundTrip(fx.nova.address, { ca: stranger.cert }, 'tls-untrusted'), ConnectionError);
  });

  it('takes --tls-ca in the CLI, and an https:// address says TLS', async () => {
    const listed = await runCli(['functions', 'list', '--tls-ca', ca.certFile], { NOVA_ADDR: fx.nova.address });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /tls-echo/);
    const viaEnv = await runCli(['functions', 'get', 'tls-echo'], {
      NOVA_ADDR: `https://${fx.nova.address}`,
      NOVA_TLS_CA: ca.certFile,
    });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const plaintext = await runCli(['functions', 'list'], { NOVA_ADDR: fx.nova.address });
    assert.equal(plaintext.code, 1);
    assert.match(plaintext.stderr, /cannot reach Nova at .*pass --tls-ca \(NOVA_TLS_CA\) if it serves TLS/);
    const missing = await runCli(['functions', 'list', '--tls-ca', '/nonexistent/ca.pem'], {
      NOVA_ADDR: fx.nova.address,
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--tls-ca: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/);
  });
});

describe('mutual TLS (NOVA_TLS_CLIENT_CA)', () => {
  const fx = useNova({
    NOVA_TLS_CERT: node.certFile,
    NOVA_TLS_KEY: node.keyFile,
    NOVA_TLS_CLIENT_CA: ca.certFile,
  });

  it('serves a client with a certificate the CA signed', async () => {
    const tls = { ca: ca.cert, cert: client.cert, key: client.key };
    assert.deepEqual(await roundTrip(fx.nova.address, tls, 'mtls-echo'), { echo: { n: 1 } });
    assert.ok(fx.nova.logLines().some((line) => line['msg'] === 'nova listening' && line['tls'] === 'mutual'));
  });

  it('refuses a client without a certificate, and one signed by another CA', async () => {
    await assert.rejects(roundTrip(fx.nova.address, { ca: ca.cert }, 'mtls-anonymous'), ConnectionError);
    const foreign = { ca: ca.cert, cert: stranger.cert, key: stranger.key };
    await assert.rejects(roundTrip(fx.nova.address, foreign, 'mtls-stranger'), ConnectionError);
  });

  it('takes --tls-cert and --tls-key in the CLI', async () => {
    const flags = ['--tls-ca', ca.certFile, '--tls-cert', client.certFile, '--tls-key', client.keyFile];
    const listed = await runCli(['functions', 'list', ...flags], { NOVA_ADDR: fx.nova.address });
    assert.equal(listed.code, 0, listed.stderr);
    const anonymous = await runCli(['functions', 'list', '--tls-ca', ca.certFile], { NOVA_ADDR: fx.nova.address });
    assert.equal(anonymous.code, 1);
    const halfPair = await runCli(['functions', 'list', '--tls-cert', client.certFile], { NOVA_ADDR: fx.nova.address });
    assert.equal(halfPair.code, 1);
    assert.match(halfPair.stderr, /--tls-cert and --tls-key go together/);
  });
});

describe('a cluster over mutual TLS: router → data plane with the router’s own certificate', () => {
  const tlsEnv = {
    NOVA_TLS_CERT: node.certFile,
    NOVA_TLS_KEY: node.keyFile,
    NOVA_TLS_CLIENT_CA: ca.certFile,
    NOVA_TLS_CA: ca.certFile,
  };
  const topology = useTopology({ dataPlanes: 1, routers: 1, env: tlsEnv });

  it('routes an invocation to a data-plane node that requires client certificates', async () => {
    const router = topology.routers[0]!.address;
    const controlPlane = new Nova({
      address: topology.controlPlane.address,
      tls: { ca: ca.cert, cert: client.cert, key: client.key },
    });
    try {
      await controlPlane.createFunction({ name: 'routed-mtls', runtime: 'python', handler: 'handler', code: echo });
    } finally {
      controlPlane.close();
    }
    const viaRouter = new Nova({ address: router, tls: { ca: ca.cert, cert: client.cert, key: client.key } });
    try {
      const result = await viaRouter.invoke('routed-mtls', { n: 2 });
      assert.deepEqual(JSON.parse(Buffer.from(result.output).toString()), { echo: { n: 2 } });
    } finally {
      viaRouter.close();
    }
    // The node itself takes no call without a client certificate.
    const dataPlane = topology.dataPlanes.get('dp-0')!.address;
    await assert.rejects(roundTrip(dataPlane, { ca: ca.cert }, 'direct-anonymous'), ConnectionError);
  });

  it('the CLI reaches the router with the same NOVA_TLS_* variables', async () => {
    const result = await runCli(['invoke', 'routed-mtls', '{"n":3}'], {
      NOVA_ADDR: topology.routers[0]!.address,
      ...tlsEnv,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /"n": ?3/);
  });
});
