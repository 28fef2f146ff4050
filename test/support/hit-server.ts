import { createServer } from 'node:http';

/**
 * The HTTP server behind HitCounter, run inside a test host's network
 * namespace: counts /hit?id=, tracks /begin and /end, and answers /stats.
 */
const hits: Record<string, number> = {};
const parents: Record<string, string> = {};
let concurrent = 0;
let maxConcurrent = 0;

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const id = url.searchParams.get('id') ?? '';
  if (url.pathname === '/hit') {
    hits[id] = (hits[id] ?? 0) + 1;
    parents[id] = url.searchParams.get('parent') ?? '';
  } else if (url.pathname === '/begin') {
    concurrent += 1;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
  } else if (url.pathname === '/end') {
    concurrent -= 1;
  } else if (url.pathname === '/reset') {
    maxConcurrent = 0;
  } else if (url.pathname === '/stats') {
    response.end(JSON.stringify({ hits, parents, maxConcurrent }));
    return;
  }
  response.end('ok');
});
server.listen(Number(process.argv[2] ?? 0), process.argv[3] ?? '0.0.0.0', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
