import type { Command } from 'commander';
import type { NodeInfo } from '#client';
import { createHealthClient } from '#proto/client';
import { withClient, withNova, type ClientFlags } from './client-options.js';
import { localTime, printJson, printRecord, printTable } from './output.js';

type Flags = ClientFlags & { json?: boolean };

/** 42s, 5m03s, 2h10m, 3d4h: how long ago, short enough for a table column. */
export function shortDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return ms < 10_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

function since(iso: string): string {
  return shortDuration(Date.now() - Date.parse(iso));
}

function printNode(node: NodeInfo): void {
  printRecord({
    id: node.id,
    address: node.address,
    status: node.status,
    planes: node.planes.join(', ') || '-',
    runtimes: node.runtimes.join(', ') || '-',
    capacity: node.capacity,
    in_flight: node.inFlight,
    warm_instances: node.warmInstances,
    version: node.version,
    heartbeat: `${since(node.heartbeatAt)} ago (every ${node.heartbeatMs} ms)`,
    started_at: localTime(node.startedAt),
  });
}

const HEALTH_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** `nova nodes`: the cluster's members (nova.v1.Cluster); `nova health`: one server's grpc.health.v1. */
export function registerNodeCommands(program: Command): void {
  program
    .command('health')
    .description(
      'ask a server whether it serves (grpc.health.v1 Check); exit 0 when SERVING: for HEALTHCHECK and probes',
    )
    .argument('[service]', 'a service name, e.g. nova.v1.DataPlane; none: the whole server', '')
    .option('--timeout <ms>', 'give up after this long', '3000')
    .action(async (service: string, flags: { timeout: string }, command: Command) => {
      const answer = await withClient(command, createHealthClient, (health) =>
        health.check({ service }, { timeoutMs: Number(flags.timeout) || 3000 }),
      );
      const status = HEALTH_STATUS[answer.status] ?? String(answer.status);
      process.stdout.write(`${status}\n`);
      if (status !== 'SERVING') process.exitCode = 1;
    });

  const nodes = program.command('nodes').alias('node').description('the nodes of the cluster (nova.v1.Cluster)');

  const list = async (flags: Flags & { plane?: string; status?: string }, command: Command): Promise<void> => {
    const found = await withNova(command, (nova) =>
      nova.listNodes({
        ...(flags.plane ? { plane: flags.plane } : {}),
        ...(flags.status ? { status: flags.status } : {}),
      }),
    );
    if (flags.json) return printJson(found);
    printTable(
      ['ID', 'ADDRESS', 'STATUS', 'AGE', 'HEARTBEAT', 'IN-FLIGHT', 'WARM'],
      found.map((node) => [
        node.id,
        node.address,
        node.status,
        since(node.startedAt),
        `${since(node.heartbeatAt)} ago`,
        String(node.inFlight),
        String(node.warmInstances),
      ]),
    );
  };

  // `nova nodes` alone lists them.
  nodes
    .command('ls', { isDefault: true })
    .alias('list')
    .description('list the nodes: id, address, status, age, last heartbeat, calls in flight, warm instances')
    .option('--plane <plane>', 'only nodes serving data-plane or control-plane')
    .option('--status <status>', 'only live, draining or dead nodes')
    .option('--json', 'print JSON')
    .action(async (flags: Flags & { plane?: string; status?: string }, command: Command) => list(flags, command));

  nodes
    .command('get')
    .description('one node in full')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: Flags, command: Command) => {
      const node = await withNova(command, (nova) => nova.getNode(id));
      if (flags.json) return printJson(node);
      printNode(node);
    });

  nodes
    .command('drain')
    .description('stop sending the node new calls; it finishes its work')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: Flags, command: Command) => {
      const node = await withNova(command, (nova) => nova.drainNode(id));
      if (flags.json) return printJson(node);
      process.stdout.write(`draining ${node.id} (${node.inFlight} calls in flight at its last heartbeat)\n`);
    });

  nodes
    .command('rm')
    .alias('remove')
    .description('forget a dead node')
    .argument('<id>')
    .action(async (id: string, _flags: Flags, command: Command) => {
      await withNova(command, (nova) => nova.removeNode(id));
      process.stdout.write(`removed ${id}\n`);
    });
}
