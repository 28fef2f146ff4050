import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createAgentServiceClient, createTaskWorkerClient, createToolServiceClient } from '#proto';
import { repoRoot, runCli } from './support/nova-process.js';
import { useNova } from './support/fixture.js';
import { codeOf } from './support/grpc-status.js';
import { waitUntil } from './support/wait.js';

const example = join(repoRoot, 'examples', 'agent-platform');
const slowWorkerFile = join(repoRoot, 'test', 'fixtures', 'slow-worker.py');
const slowManifest = join(repoRoot, 'test', 'fixtures', 'slow-worker.yaml');
const task = (agentId: string, input: string, more: Record<string, unknown> = {}) => ({
  taskId: '',
  agentId,
  input,
  parameters: {},
  toolIds: [],
  sessionId: '',
  ...more,
});

// Issue 11, items 3 and 4, in unified mode: the agent platform runs its functions in process.
describe('the agent platform in unified mode', () => {
  const fx = useNova();

  it('applies examples/agent-platform, then answers the seed test client flow', async () => {
    const env = { NOVA_ADDR: fx.nova.address };
    const applied = await runCli(['apply', example], env);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /^created echo-agent \(version 1\)$/m);
    assert.match(applied.stdout, /^created agent echo-agent$/m);
    assert.match(applied.stdout, /^created tool weather-tool$/m);
    assert.match(applied.stdout, /^created worker itinerary-worker$/m);
    const again = await runCli(['apply', example], env);
    assert.match(again.stdout, /^unchanged agent echo-agent$/m, 'applying again changes nothing');

    const agents = createAgentServiceClient({ address: fx.nova.address });
    const tools = createToolServiceClient({ address: fx.nova.address });
    const workers = createTaskWorkerClient({ address: fx.nova.address });
    try {
      const echoed = await agents.executeTask(task('echo-agent', 'Hello, World!', { taskId: 't-1', sessionId: 's-1' }));
      assert.deepEqual(
        { output: echoed.output, success: echoed.success, taskId: echoed.taskId, sessionId: echoed.sessionId },
        { output: 'Echo: Hello, World!', success: true, taskId: 't-1', sessionId: 's-1' },
      );
      assert.equal((await agents.executeTask(task('agent-echo', 'both ways'))).output, 'Echo: both ways');
      const agentStatus = await agents.getStatus({ agentId: 'echo-agent' });
      assert.equal(agentStatus.status, 'healthy');
      assert.equal(agentStatus.agentId, 'echo-agent');

      const weather = await tools.executeTool({
        toolId: 'weather-tool',
        operation: 'get_weather',
        parameters: { location: 'New York' },
        sessionId: 's-2',
      });
      assert.equal(weather.success, true, weather.error);
      assert.equal(weather.sessionId, 's-2');
      const forecast = JSON.parse(weather.result) as { location: string; temperature_c: number };
      assert.equal(forecast.location, 'New York');
      const sameAgain = await tools.executeTool({
        toolId: 'tool-weather',
        operation: 'get_weather',
        parameters: { location: 'New York' },
        sessionId: '',
      });
      assert.equal(sameAgain.result, weather.result, 'deterministic data');
      const unknownOperation = await tools.executeTool({
        toolId: 'weather-tool',
        operation: 'get_tides',
        parameters: {},
        sessionId: '',
      });
      assert.equal(unknownOperation.success, false);
      assert.match(unknownOperation.error, /ValueError: unknown operation 'get_tides'/);

      const listed = await tools.listTools({ filter: '' });
      const weatherInfo = listed.tools.find((tool) => tool.toolId === 'weather-tool');
      assert.equal(weatherInfo?.name, 'Weather Tool');
      assert.deepEqual(
        weatherInfo?.parameters.map((parameter) => [parameter.name, parameter.required]),
        [['location', true]],
      );
      assert.equal(weatherInfo?.endpoint, 'function:weather-tool');

      const plan = await workers.processTask(
        task('itinerary-worker', 'Plan a trip to Paris for 3 days', {
          parameters: { destination: 'Paris', days: '3' },
        }),
      );
      assert.equal(plan.success, true, plan.error);
      assert.equal(plan.output.split('\n').length, 3);
      assert.match(plan.output, /^Day 1 in Paris/);
      assert.deepEqual(
        { destination: plan.metadata['destination'], days: plan.metadata['days'] },
        {
          destination: 'Paris',
          days: '3',
        },
      );
      const progress = await workers.getTaskStatus({ taskId: plan.taskId });
      assert.equal(progress.status, 'succeeded');
      assert.equal(progress.result, plan.output);
      assert.equal(await codeOf(workers.getTaskStatus({ taskId: 'never-ran' })), status.NOT_FOUND);

      const chunks = [];
      for await (const chunk of agents.streamTask(task('echo-agent', 'streamed'))) chunks.push(chunk);
      assert.deepEqual(
        chunks.map((chunk) => [chunk.content, chunk.isFinal]),
        [['Echo: streamed', true]],
      );

      assert.deepEqual(
        (await agents.listAgents({ filter: 'text-processing' })).agents.map((agent) => agent.agentId),
        ['echo-agent'],
      );
      assert.deepEqual((await agents.listAgents({ filter: 'nothing-like-it' })).agents, []);
      assert.deepEqual(
        (await workers.listWorkers({ filter: 'travel' })).workers.map((worker) => worker.workerId),
        ['itinerary-worker'],
      );
      assert.equal(await codeOf(agents.executeTask(task('missing-agent', 'x'))), status.NOT_FOUND);
      assert.equal(
        await codeOf(agents.registerAgent({ ...emptyAgent, agentId: 'bad', endpoint: 'not an address' })),
        status.INVALID_ARGUMENT,
      );
    } finally {
      agents.close();
      tools.close();
      workers.close();
    }

    // A worker still running at ProcessTask's deadline: GetTaskStatus follows it, with what it says of its progress.
    const slow = await runCli(
      ['functions', 'create', 'slow-worker', '--runtime', 'python', '--handler', 'handler', '--code', slowWorkerFile],
      env,
    );
    assert.equal(slow.code, 0, slow.stderr);
    const registry = await runCli(['apply', slowManifest], env);
    assert.equal(registry.code, 0, registry.stderr);
    const tasks = createTaskWorkerClient({ address: fx.nova.address });
    try {
      const early = await tasks.processTask(task('slow-worker', 'go', { taskId: 'slow-1' }), { timeoutMs: 600 });
      assert.equal(early.success, false);
      assert.match(early.error, /still (queued|running) at the call's deadline/);
      const seen = new Set<string>();
      await waitUntil('the slow task to succeed', async () => {
        const now = await tasks.getTaskStatus({ taskId: 'slow-1' });
        if (now.status === 'running') seen.add(now.progress);
        return now.status === 'succeeded' && now.result === 'done';
      });
      assert.ok(
        [...seen].some((progress) => /^step [1-3] of 3$/.test(progress)),
        `progress reported while running: ${[...seen].join(', ')}`,
      );
      const again = await tasks.processTask(task('slow-worker', 'go', { taskId: 'slow-1' }));
      assert.deepEqual([again.success, again.output], [true, 'done'], 'the same task_id is the same task');
    } finally {
      tasks.close();
    }

    const deleted = await runCli(['delete', example], env);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /^deleted agent echo-agent$/m);
    assert.match(deleted.stdout, /^deleted function itinerary-worker$/m);
    const after = createAgentServiceClient({ address: fx.nova.address });
    assert.deepEqual((await after.listAgents({ filter: '' })).agents, []);
    after.close();
  });
});

const emptyAgent = {
  agentId: '',
  name: '',
  description: '',
  capabilities: [],
  endpoint: '',
  detailedDescription: '',
  howItWorks: '',
  returnFormat: '',
  useCases: [],
  version: '',
};
