import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { repoRoot } from './nova-process.js';

let hostIndex = 0;

/**
 * A server functions call to leave a trace: how many times each id was
 * seen, and how many calls were between /begin and /end at once. It runs on
 * a test host of its own, a network namespace joined to this machine by a
 * veth pair, with an address outside the ranges Nova keeps egress functions
 * from (198.18.0.0/15, set aside for network tests): functions reach it with
 * network=egress, as they would reach a service on the internet.
 */
export class HitCounter {
  hits = new Map<string, number>();
  parents = new Map<string, string>();
  maxConcurrent = 0;
  /** Where functions reach it: http://${address}:${port}. */
  address = '';
  port = 0;
  private server: ChildProcess | undefined;
  private namespace = '';

  async start(): Promise<void> {
    const tag = randomBytes(3).toString('hex');
    this.namespace = `nova-th-${tag}`;
    const subnet = 18 + ((process.pid + hostIndex++) % 200);
    const hostSide = `nth${tag}a`;
    const nsSide = `nth${tag}b`;
    this.address = `198.18.${subnet}.2`;
    const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
    ip('netns', 'add', this.namespace);
    ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', nsSide);
    ip('link', 'set', nsSide, 'netns', this.namespace);
    ip('addr', 'add', `198.18.${subnet}.1/30`, 'dev', hostSide);
    ip('link', 'set', hostSide, 'up');
    ip('-n', this.namespace, 'addr', 'add', `${this.address}/30`, 'dev', nsSide);
    ip('-n', this.namespace, 'link', 'set', nsSide, 'up');
    ip('-n', this.namespace, 'link', 'set', 'lo', 'up');
    const server = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.namespace,
        process.execPath,
        join(repoRoot, 'dist/test/support/hit-server.js'),
        '0',
        this.address,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.server = server;
    this.port = await new Promise<number>((resolve, reject) => {
      server.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      server.once('exit', (code) => reject(new Error(`hit server exited (${code})`)));
    });
  }

  /** Reads what the server has seen so far into hits, parents and maxConcurrent. */
  async refresh(): Promise<void> {
    const stats = (await (await fetch(`${this.url}/stats`)).json()) as {
      hits: Record<string, number>;
      parents: Record<string, string>;
      maxConcurrent: number;
    };
    this.hits = new Map(Object.entries(stats.hits));
    this.parents = new Map(Object.entries(stats.parents));
    this.maxConcurrent = stats.maxConcurrent;
  }

  async resetConcurrency(): Promise<void> {
    await fetch(`${this.url}/reset`);
    this.maxConcurrent = 0;
  }

  get url(): string {
    return `http://${this.address}:${this.port}`;
  }

  stop(): void {
    this.server?.kill('SIGKILL');
    // Deleting the namespace removes the veth pair with it.
    if (this.namespace) execFileSync('ip', ['netns', 'delete', this.namespace], { stdio: 'pipe' });
  }
}
