import { execFile, spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import type { Readable } from 'node:stream';

/**
 * Ranges an egress function never reaches, whatever the host routes:
 * loopback, private (RFC 1918), shared (CGNAT), link-local (cloud metadata
 * services live there), multicast and reserved. The node's own addresses are
 * added at attach time.
 */
const BLOCKED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
];

const READY_TIMEOUT_MS = 5000;

/** The routes that block what an egress function must not reach, as `ip -batch` lines. */
export function blockingRoutes(ownAddresses: string[]): string[] {
  const own = ownAddresses.filter((address) => /^\d+\.\d+\.\d+\.\d+$/.test(address)).map((address) => `${address}/32`);
  return [...new Set([...BLOCKED_V4, ...own])].map((prefix) => `route add prohibit ${prefix}`);
}

function nodeAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((info) => info !== undefined && info.family === 'IPv4')
    .map((info) => info.address);
}

/**
 * Gives an instance's network namespace outbound access through
 * slirp4netns, a user-mode TCP/IP stack: the instance gets a tap device
 * with a default route, slirp4netns connects out from the host on its behalf
 * with the host's loopback disabled, and prohibit routes inside the
 * namespace (which the instance, without CAP_NET_ADMIN, cannot change) keep
 * private ranges and the node's own addresses out of reach. Returns what
 * detaches it.
 */
export async function attachEgress(slirp4netns: string, namespacePid: number): Promise<() => void> {
  const child = spawn(
    slirp4netns,
    [
      '--configure',
      '--mtu=65520',
      '--disable-host-loopback',
      '--enable-sandbox',
      '--ready-fd',
      '3',
      String(namespacePid),
      'tap0',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } },
  );
  const detach = (): void => void child.kill('SIGKILL');
  try {
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
      const timer = setTimeout(() => reject(new Error('slirp4netns was not ready in time')), READY_TIMEOUT_MS);
      (child.stdio[3] as Readable).once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`slirp4netns exited (code ${code ?? 'null'}): ${stderr.trim()}`));
      });
    });
    await new Promise<void>((resolve, reject) => {
      const ip = execFile(
        'nsenter',
        [`--net=/proc/${namespacePid}/ns/net`, 'ip', '-batch', '-'],
        { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
        (error) => (error ? reject(new Error(`could not set the egress routes: ${error.message}`)) : resolve()),
      );
      ip.stdin?.end(blockingRoutes(nodeAddresses()).join('\n') + '\n');
    });
  } catch (error) {
    detach();
    throw error;
  }
  return detach;
}
