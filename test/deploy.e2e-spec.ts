import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { Agents, Nova } from '#client';
import { settings } from '#server';
import { createUrlDatabase, freePort, repoRoot, runCli, startNova, type NovaProcess } from './support/nova-process.js';
import { waitUntil } from './support/wait.js';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  security_opt?: string[];
  healthcheck?: unknown;
}

const dockerDir = join(repoRoot, 'docker');
const compose = parse(readFileSync(join(dockerDir, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
const novaServices = Object.entries(services).filter(
  ([, service]) => service.build?.dockerfile === 'docker/Dockerfile',
);

describe('docker/: the image and the compose file', () => {
  it('builds one image in two stages: dev dependencies to build, production ones to run, as a non-root user', () => {
    const dockerfile = readFileSync(join(dockerDir, 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    assert.equal(stages.length, 2, 'a build stage and a runtime stage');
    assert.match(stages[0]!, /^RUN npm ci$/m);
    assert.match(stages[0]!, /^RUN npm run build$/m);
    const runtime = stages[1]!;
    assert.match(runtime, /npm ci --omit=dev/);
    assert.match(runtime, /COPY --from=build \/src\/dist dist/);
    assert.match(runtime, /apt-get install[^\n]*\bpython3\b/);
    assert.match(runtime, /apt-get install[^\n]*\bbubblewrap\b/);
    assert.match(runtime, /^USER node$/m);
    assert.match(runtime, /^HEALTHCHECK [\s\S]*CMD nova health /m);
    assert.match(runtime, /^ENTRYPOINT \[.*"nova"\]$/m);
    assert.match(runtime, /^CMD \["daemon"\]$/m);
  });

  it('runs PostgreSQL, a one-shot migration, a control plane, two data planes, two routers and HAProxy', () => {
    assert.deepEqual(Object.keys(services).sort(), [
      'control-plane',
      'dataplane-1',
      'dataplane-2',
      'haproxy',
      'migrate',
      'postgres',
      'router-1',
      'router-2',
    ]);
    assert.match(services['postgres']!.image ?? '', /^postgres:(1[5-9]|[2-9]\d)/, 'PostgreSQL 15 or newer');
    assert.deepEqual(Object.fromEntries(novaServices.map(([name, service]) => [name, service.command])), {
      migrate: ['migrate'],
      'control-plane': ['daemon', '--mode', 'controlplane'],
      'dataplane-1': ['daemon', '--mode', 'dataplane'],
      'dataplane-2': ['daemon', '--mode', 'dataplane'],
      'router-1': ['daemon', '--mode', 'router'],
      'router-2': ['daemon', '--mode', 'router'],
    });
    for (const [name, service] of novaServices) {
      if (name === 'migrate') continue;
      assert.deepEqual(service.depends_on, { migrate: { condition: 'service_completed_successfully' } }, name);
      assert.match(service.environment?.['DATABASE_URL'] ?? '', /^postgres:\/\/nova:.*@postgres:5432\/nova$/, name);
    }
    assert.deepEqual(services['migrate']!.depends_on, { postgres: { condition: 'service_healthy' } });
    const novaEnvironment = new Set(Object.values(settings).map((setting) => setting.env));
    for (const [name, service] of novaServices) {
      for (const key of Object.keys(service.environment ?? {})) {
        if (key.startsWith('NOVA_')) assert.ok(novaEnvironment.has(key), `${name}: ${key} is a Nova setting`);
      }
    }
    for (const name of ['dataplane-1', 'dataplane-2']) {
      assert.equal(services[name]!.environment?.['NOVA_ADVERTISE_ADDR'], `${name}:9090`);
    }
    const haproxy = services['haproxy']!;
    assert.deepEqual(haproxy.ports, ['127.0.0.1:9090:9090', '127.0.0.1:8404:8404']);
    assert.deepEqual(haproxy.volumes, ['./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro']);
    assert.equal(haproxy.environment?.['NOVA_ROUTER_1'], 'router-1:9090');
    assert.equal(haproxy.environment?.['NOVA_ROUTER_2'], 'router-2:9090');
  });
});

/**
 * docker/compose.yaml as local processes: each Nova service runs its own
 * command and environment, with compose's host names and ports turned into
 * loopback ports; HAProxy runs docker/haproxy.cfg with its service's
 * environment turned the same way.
 */
describe('docker/compose.yaml run as local processes, HAProxy in front', () => {
  const grpcPorts = new Map<string, number>();
  const metricsPorts = new Map<string, number>();
  const running = new Map<string, NovaProcess>();
  let haproxy: ChildProcess | undefined;
  let haproxyLog = '';
  let front = '';
  let stats = '';
  let disposeDatabase: () => Promise<void> = () => Promise.resolve();

  /** A value of compose's environment as it is on this machine. */
  const local = (service: string, key: string, value: string, environment: Record<string, string>): string => {
    if (key === 'DATABASE_URL') return databaseUrl;
    if (value === ':9090') return `127.0.0.1:${grpcPorts.get(service)}`;
    if (value === ':9464') return `127.0.0.1:${metricsPorts.get(service)}`;
    const named = /^([a-z][\w-]*):9090$/.exec(value);
    if (named && grpcPorts.has(named[1]!)) return `127.0.0.1:${grpcPorts.get(named[1]!)}`;
    if (key.endsWith('_HEALTH_PORT')) {
      const target = /^([a-z][\w-]*):/.exec(environment[key.replace(/_HEALTH_PORT$/, '')] ?? '')?.[1];
      assert.ok(target && value === '9464', `${key} names the metrics port of ${target}`);
      return String(metricsPorts.get(target));
    }
    return value;
  };
  const localEnvironment = (service: string): Record<string, string> => {
    const environment = services[service]!.environment ?? {};
    return Object.fromEntries(
      Object.entries(environment).map(([key, value]) => [key, local(service, key, String(value), environment)]),
    );
  };
  let databaseUrl = '';

  before(async () => {
    const database = await createUrlDatabase();
    disposeDatabase = () => database.dispose();
    databaseUrl = database.url;
    for (const name of Object.keys(services)) {
      grpcPorts.set(name, await freePort());
      metricsPorts.set(name, await freePort());
    }
    const migrated = await runCli(services['migrate']!.command!, localEnvironment('migrate'));
    assert.equal(migrated.code, 0, migrated.stderr);
    const start = async (name: string): Promise<void> => {
      const [daemon, ...args] = services[name]!.command!;
      assert.equal(daemon, 'daemon');
      running.set(name, await startNova({ env: localEnvironment(name), args, port: grpcPorts.get(name)! }));
    };
    await start('control-plane');
    await Promise.all(['dataplane-1', 'dataplane-2', 'router-1', 'router-2'].map(start));

    const environment = localEnvironment('haproxy');
    front = environment['NOVA_LB_ADDR']!.replace(/^:/, '127.0.0.1:');
    stats = environment['NOVA_LB_STATS_ADDR']!.replace(/^:/, '127.0.0.1:');
    // Compose's ":9090" is every interface of the container; here, loopback.
    environment['NOVA_LB_ADDR'] = front = `127.0.0.1:${grpcPorts.get('haproxy')}`;
    environment['NOVA_LB_STATS_ADDR'] = stats = `127.0.0.1:${metricsPorts.get('haproxy')}`;
    haproxy = spawn('haproxy', ['-f', join(dockerDir, 'haproxy.cfg'), '-db'], {
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin', ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    haproxy.stdout!.on('data', (chunk: Buffer) => (haproxyLog += chunk.toString()));
    haproxy.stderr!.on('data', (chunk: Buffer) => (haproxyLog += chunk.toString()));
    await waitUntil('HAProxy to see both routers up', async () => {
      const states = await routerStates().catch((): Record<string, string> => ({}));
      return states['router1'] === 'UP' && states['router2'] === 'UP';
    }).catch(withHaproxyLog);
  });

  after(async () => {
    haproxy?.kill('SIGTERM');
    await Promise.all([...running.values()].map((process) => process.stop()));
    await disposeDatabase();
  });

  const withHaproxyLog = (error: Error): never => {
    throw new Error(`${error.message}; HAProxy said:\n${haproxyLog.slice(-4000)}`);
  };

  /** Each router's state on HAProxy's stats page (CSV). */
  async function routerStates(): Promise<Record<string, string>> {
    const csv = await (await fetch(`http://${stats}/;csv`)).text();
    const rows = csv.split('\n').map((line) => line.split(','));
    const header = rows[0]!.map((cell) => cell.replace(/^# /, ''));
    const [proxy, server, status] = ['pxname', 'svname', 'status'].map((name) => header.indexOf(name));
    return Object.fromEntries(
      rows
        .filter((row) => row[proxy!] === 'nova_routers' && row[server!]?.startsWith('router'))
        .map((row): [string, string] => [row[server!]!, row[status!]!]),
    );
  }

  /** Invoke calls a router served, from its /metrics. */
  async function invokesServedBy(router: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${metricsPorts.get(router)}/metrics`)).text();
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('nova_grpc_calls_total{') &&
          l.includes('method="/nova.v1.DataPlane/Invoke"') &&
          l.includes('code="OK"'),
      );
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('takes `nova apply examples/agent-platform` through HAProxy, and serves the seed flow', async () => {
    const applied = await runCli(['apply', join(repoRoot, 'examples', 'agent-platform')], { NOVA_ADDR: front });
    assert.equal(applied.code, 0, applied.stderr);
    const agents = new Agents({ address: front });
    try {
      const echoed = await agents.executeTask('echo-agent', 'Hello, World!', { sessionId: 'lb' });
      assert.deepEqual([echoed.output, echoed.success], ['Echo: Hello, World!', true]);
      const weather = await agents.executeTool('weather-tool', 'get_weather', { location: 'Paris' });
      assert.equal(weather.success, true, weather.error);
    } finally {
      agents.close();
    }
    const page = await fetch(`http://${stats}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /nova_routers/);
  });

  it('balances each call, not each connection: one client connection reaches both routers', async () => {
    const before = await Promise.all(['router-1', 'router-2'].map(invokesServedBy));
    const nova = new Nova({ address: front });
    try {
      for (let i = 0; i < 10; i++) {
        const result = await nova.invoke('echo-agent', { input: `call ${i}` });
        assert.equal(result.error, '');
      }
    } finally {
      nova.close();
    }
    const afterCalls = await Promise.all(['router-1', 'router-2'].map(invokesServedBy));
    const served = afterCalls.map((count, i) => count - before[i]!);
    assert.equal(served[0]! + served[1]!, 10);
    assert.ok(served[0]! >= 3 && served[1]! >= 3, `both routers served calls of one connection: ${served.join(' + ')}`);
  });

  it('stops sending to a router that stops, and keeps serving', async () => {
    await running.get('router-2')!.stop();
    await waitUntil(
      'HAProxy to mark router2 down',
      async () => (await routerStates())['router2']?.startsWith('DOWN') ?? false,
    ).catch(withHaproxyLog);
    const nova = new Nova({ address: front });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await nova.invoke('echo-agent', { input: 'after' })).error, '');
    } finally {
      nova.close();
    }
  });
});
