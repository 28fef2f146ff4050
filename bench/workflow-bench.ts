// Durable workflows: workflows of three trivial steps per second and the
// time from start to end (p50, p99) on one node, beside a bare `pg` loop
// that writes the same rows (a workflow row, three steps each in a locked
// transaction with its event, the end) on the same PostgreSQL in the same
// run (one data-plane node runs them); then failover: kill -9 of the node that owns a sleeping workflow,
// until its next step is done on the other node (median of --failovers).
//
//   npm run bench:workflows -- [--count 500] [--failovers 10]
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createControlPlaneClient, createWorkflowsClient } from '#proto';
import { EmbeddedPostgres } from '#storage';
import { createRequest } from '../test/support/requests.js';
import { median, percentile, rate, stopChildren, waitServing } from './load.js';

const { values: args } = parseArgs({
  options: { count: { type: 'string', default: '500' }, failovers: { type: 'string', default: '10' } },
});
const count = Number(args.count);
const failovers = Number(args.failovers);
const inFlight = 64;
const repoRoot = join(import.meta.dirname, '..', '..');

async function startNova(env: Record<string, string>, port: number, mode: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(repoRoot, 'dist/apps/nova/src/main.js'), 'daemon', '--mode', mode], {
    cwd: repoRoot,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      NOVA_GRPC_ADDR: `127.0.0.1:${port}`,
      NOVA_LOG_LEVEL: 'warn',
      NOVA_WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitServing(`127.0.0.1:${port}`);
  return child;
}

const threeSteps = Buffer.from(
  [
    'def handler(event, context):',
    '    a = context.step("a", lambda: 1)',
    '    b = context.step("b", lambda: a + 1)',
    '    return context.step("c", lambda: b + 1)',
    '',
  ].join('\n'),
);
const sleeper = Buffer.from(
  [
    'def handler(event, context):',
    '    context.step("one", lambda: 1)',
    '    context.sleep(0.5)',
    '    return context.step("two", lambda: 2)',
    '',
  ].join('\n'),
);

/** The same rows a workflow of three steps writes, by hand: the floor of what the database allows. */
async function bareWorkflow(db: pg.Pool, id: string): Promise<void> {
  await db.query(
    `INSERT INTO workflows (id, function_name, function_version, input, status, max_attempts, backoff_base_ms,
                            backoff_max_ms, next_run_at, lease_owner, lease_until)
     VALUES ($1, 'bare', 1, '{}', 'running', 3, 1000, 60000, now(), 'bench', now() + interval '1 minute')`,
    [id],
  );
  for (let seq = 0; seq < 3; seq++) {
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT id FROM workflows WHERE id = $1 AND lease_owner = 'bench' FOR UPDATE", [id]);
      await client.query(
        `INSERT INTO workflow_steps (workflow_id, seq, kind, name, result, attempt, node_id, started_at, finished_at)
         VALUES ($1, $2, 'step', 's', '1', 1, 'bench', now(), now())`,
        [id, seq],
      );
      await client.query("INSERT INTO workflow_events (workflow_id, kind) VALUES ($1, 'checkpoint')", [id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
  await db.query("UPDATE workflows SET status = 'succeeded', result = '3', finished_at = now() WHERE id = $1", [id]);
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'nova-workflow-bench-'));
  await chmod(work, 0o755);
  const dataDir = join(work, 'data');
  const children: ChildProcess[] = [];
  const port = 21000 + Math.floor(Math.random() * 1000);
  try {
    // The unified process holds the embedded PostgreSQL and serves the API; data-plane nodes run the workflows.
    children.push(await startNova({ NOVA_DATA_DIR: dataDir, NOVA_WORKFLOW_CONCURRENCY: '0' }, port, 'unified'));
    const url = await EmbeddedPostgres.runningUrl(dataDir);
    if (!url) throw new Error('no embedded PostgreSQL');
    const db = new pg.Pool({ connectionString: url, max: 8 });
    const nodes = new Map<string, ChildProcess>();
    const startNode = async (id: string, nodePort: number): Promise<void> => {
      const child = await startNova(
        { DATABASE_URL: url, NOVA_NODE_ID: id, NOVA_WORKFLOW_CONCURRENCY: '64' },
        nodePort,
        'dataplane',
      );
      nodes.set(id, child);
      children.push(child);
    };
    await startNode('bench-a', port + 1);
    const address = `127.0.0.1:${port}`;
    const cp = createControlPlaneClient({ address });
    const client = createWorkflowsClient({ address });
    const start = (fn: string, workflowId = '') =>
      client.startWorkflow({ function: fn, version: 0, input: '{}', workflowId, maxAttempts: 0 });

    const barePerS = await rate(count, 8, (i) => bareWorkflow(db, `bare-${i}`));
    await db.query("DELETE FROM workflows WHERE function_name = 'bare'");

    await cp.createFunction(createRequest({ name: 'three', code: threeSteps }));
    // Warm the function's instances first: cold starts are not what this measures.
    await rate(64, 64, () => start('three'));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await db.query("DELETE FROM workflows WHERE function_name = 'three'");
    const began = performance.now();
    await rate(count, inFlight, () => start('three'));
    for (;;) {
      const { rows } = await db.query<{ done: string }>(
        "SELECT count(*) AS done FROM workflows WHERE function_name = 'three' AND status IN ('succeeded', 'failed')",
      );
      if (Number(rows[0]!.done) >= count) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const workflowsPerS = count / ((performance.now() - began) / 1000);
    const { rows: spans } = await db.query<{ ms: number; status: string }>(
      "SELECT extract(epoch FROM finished_at - created_at) * 1000 AS ms, status FROM workflows WHERE function_name = 'three'",
    );
    const failed = spans.filter((row) => row.status !== 'succeeded').length;
    const latencies = spans.map((row) => Number(row.ms)).sort((a, b) => a - b);
    process.stderr.write(`three steps: ${workflowsPerS.toFixed(0)}/s (bare pg ${barePerS.toFixed(0)}/s)\n`);

    // Failover: a second data-plane node, and the owner of a sleeping workflow killed.
    await startNode('bench-b', port + 2);
    await cp.createFunction(createRequest({ name: 'sleeper', code: sleeper }));
    const failoverMs: number[] = [];
    for (let i = 0; i < failovers; i++) {
      const workflowId = `failover-${i}`;
      await start('sleeper', workflowId);
      let owner = '';
      for (;;) {
        const { workflow } = await client.getWorkflow({ workflowId });
        if (workflow!.status === 'sleeping') {
          owner = workflow!.ownerNode;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const killedAt = Date.now();
      nodes.get(owner)!.kill('SIGKILL');
      for (;;) {
        const { workflow } = await client.getWorkflow({ workflowId });
        const two = workflow!.steps.find((step) => step.name === 'two');
        if (two) {
          failoverMs.push(Date.parse(two.finishedAt) - killedAt);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await startNode(owner, owner === 'bench-a' ? port + 1 : port + 2);
    }
    process.stderr.write(`failover: ${failoverMs.map((ms) => ms.toFixed(0)).join(', ')} ms\n`);
    cp.close();
    client.close();
    await db.end();
    process.stdout.write(
      JSON.stringify(
        {
          count,
          workflowsPerS,
          barePgWorkflowsPerS: barePerS,
          ratioToBare: workflowsPerS / barePerS,
          startToEndP50Ms: percentile(latencies, 50),
          startToEndP99Ms: percentile(latencies, 99),
          failed,
          failoverMsP50: median(failoverMs),
          failoverMs,
          leaseMs: 5000,
          heartbeatMs: 1000,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    for (const child of children.reverse()) await stopChildren([child]);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
