import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, as files and as PEM. */
export interface Issued {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

export interface TestCertificates {
  dir: string;
  /** The cluster's CA. */
  ca: Issued;
  /** For 127.0.0.1 and localhost, good for serving and as a client certificate. */
  node: Issued;
  /** A client's, signed by the CA. */
  client: Issued;
  /** A client's, signed by a CA nobody trusts. */
  stranger: Issued;
}

const openssl = (args: string[]): void => {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
};

function issued(dir: string, name: string): Issued {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

function selfSigned(dir: string, name: string): Issued {
  openssl([
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)],
    ...['-days', '2', '-subj', `/CN=${name}`],
  ]);
  return issued(dir, name);
}

function signed(dir: string, name: string, ca: Issued, extensions: string): Issued {
  const request = join(dir, `${name}.csr`);
  const extensionFile = join(dir, `${name}.ext`);
  writeFileSync(extensionFile, extensions);
  openssl([
    ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', join(dir, `${name}.key`), '-out', request, '-subj', `/CN=${name}`],
  ]);
  openssl([
    ...['x509', '-req', '-in', request, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial'],
    ...['-out', join(dir, `${name}.pem`), '-days', '2', '-extfile', extensionFile],
  ]);
  return issued(dir, name);
}

/** A CA, a node certificate and client certificates, made with openssl in a new temporary directory. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'nova-tls-'));
  const ca = selfSigned(dir, 'ca');
  const node = signed(
    dir,
    'node',
    ca,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  const client = signed(dir, 'client', ca, 'extendedKeyUsage=clientAuth\n');
  const strangerCa = selfSigned(dir, 'stranger-ca');
  const stranger = signed(dir, 'stranger', strangerCa, 'extendedKeyUsage=clientAuth\n');
  return { dir, ca, node, client, stranger };
}
