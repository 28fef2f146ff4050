import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The PEM files a process was given, read and checked once at start. */
export interface TlsConfig {
  /** Served on the gRPC port; unset: plaintext. */
  server: { cert: Buffer; key: Buffer; clientCa: Buffer | undefined } | undefined;
  /** How this process dials data-plane nodes; unset: plaintext. */
  nodes: DialTls | undefined;
  /** The files as given, for the start log line. */
  files: { cert?: string; key?: string; clientCa?: string; ca?: string };
}

/** PEM material for dialling a TLS server: the CA that signed it, and a client certificate for mTLS. */
export interface DialTls {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
}

export interface TlsFileSettings {
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsClientCa: string | undefined;
  tlsCa: string | undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks the TLS files named by the settings; every problem
 * (missing file, not PEM, key of another certificate, a CA setting without
 * a certificate to serve) goes to `problems`, each naming its setting.
 */
export function readTlsFiles(settings: TlsFileSettings, cwd: string, problems: string[]): TlsConfig {
  const read = (file: string | undefined, setting: string): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(resolve(cwd, file));
    } catch (error) {
      problems.push(`${setting}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return undefined;
    }
  };
  const certificates = (pem: Buffer | undefined, setting: string, file: string | undefined): X509Certificate[] => {
    if (pem === undefined) return [];
    const blocks = pem.toString('utf8').match(PEM_CERTIFICATE) ?? [];
    const parsed: X509Certificate[] = [];
    for (const block of blocks) {
      try {
        parsed.push(new X509Certificate(block));
      } catch (error) {
        problems.push(`${setting}: ${file} holds a certificate that does not parse (${(error as Error).message})`);
      }
    }
    if (blocks.length === 0) problems.push(`${setting}: ${file} holds no PEM certificate`);
    return parsed;
  };

  const files = {
    ...(settings.tlsCert ? { cert: settings.tlsCert } : {}),
    ...(settings.tlsKey ? { key: settings.tlsKey } : {}),
    ...(settings.tlsClientCa ? { clientCa: settings.tlsClientCa } : {}),
    ...(settings.tlsCa ? { ca: settings.tlsCa } : {}),
  };
  const cert = read(settings.tlsCert, 'NOVA_TLS_CERT');
  const key = read(settings.tlsKey, 'NOVA_TLS_KEY');
  const clientCa = read(settings.tlsClientCa, 'NOVA_TLS_CLIENT_CA');
  const ca = read(settings.tlsCa, 'NOVA_TLS_CA');

  if ((settings.tlsCert === undefined) !== (settings.tlsKey === undefined)) {
    problems.push('NOVA_TLS_CERT and NOVA_TLS_KEY go together: set both or neither');
  }
  if (settings.tlsClientCa !== undefined && settings.tlsCert === undefined) {
    problems.push(
      'NOVA_TLS_CLIENT_CA asks clients for certificates, which needs TLS: set NOVA_TLS_CERT and NOVA_TLS_KEY',
    );
  }
  const [leaf] = certificates(cert, 'NOVA_TLS_CERT', settings.tlsCert);
  certificates(clientCa, 'NOVA_TLS_CLIENT_CA', settings.tlsClientCa);
  certificates(ca, 'NOVA_TLS_CA', settings.tlsCa);
  let privateKey: KeyObject | undefined;
  if (key) {
    try {
      privateKey = createPrivateKey(key);
    } catch (error) {
      problems.push(`NOVA_TLS_KEY: ${settings.tlsKey} is not a PEM private key (${(error as Error).message})`);
    }
  }
  if (leaf && privateKey && !leaf.checkPrivateKey(privateKey)) {
    problems.push(`NOVA_TLS_KEY: ${settings.tlsKey} is not the key of the certificate in ${settings.tlsCert}`);
  }

  return {
    server: cert && key ? { cert, key, clientCa } : undefined,
    nodes: ca ? { ca, cert: cert && key ? cert : undefined, key: cert && key ? key : undefined } : undefined,
    files,
  };
}
