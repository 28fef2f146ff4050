import { createServer, type Server } from 'node:http';

/**
 * A loopback HTTP server functions call to leave a trace (functions can reach
 * the network): how many times each id was seen, and how many calls were
 * between /begin and /end at once.
 */
export class HitCounter {
  readonly hits = new Map<string, number>();
  readonly parents = new Map<string, string>();
  maxConcurrent = 0;
  private concurrent = 0;
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const id = url.searchParams.get('id') ?? '';
      if (url.pathname === '/hit') {
        this.hits.set(id, (this.hits.get(id) ?? 0) + 1);
        this.parents.set(id, url.searchParams.get('parent') ?? '');
      } else if (url.pathname === '/begin') {
        this.concurrent += 1;
        this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
      } else if (url.pathname === '/end') {
        this.concurrent -= 1;
      }
      response.end('ok');
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
