import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from './load-config.js';
import { isLoopbackHost, parseListenAddress } from './settings.js';

const made: string[] = [];
// A test run leaves nothing in the temp directory.
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nova-config-'));
  made.push(dir);
  const file = join(dir, 'nova.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has safe defaults: loopback 9090, unified, embedded database under .nova, auth off', () => {
    const config = loadConfig({ env: {}, cwd: '/srv/app' });
    assert.deepEqual(config.grpc, {
      addr: '127.0.0.1:9090',
      listen: { host: '127.0.0.1', port: 9090 },
      mode: 'unified',
      idleTimeoutS: 300,
      keepaliveS: 30,
      maxStreams: 1000,
    });
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.dataDir, '/srv/app/.nova');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.auth, 'off');
    assert.equal(config.insecure, false);
  });

  it('layers defaults < YAML file < environment < flags', () => {
    const file = yamlFile(
      ['grpc:', '  addr: "127.0.0.1:7000"', '  mode: dataplane', 'log_level: warn', 'data_dir: /from/file'].join('\n'),
    );
    const fromFile = loadConfig({ env: {}, configFile: file });
    assert.equal(fromFile.grpc.listen.port, 7000);
    assert.equal(fromFile.grpc.mode, 'dataplane');
    assert.equal(fromFile.logLevel, 'warn');
    assert.equal(fromFile.dataDir, '/from/file');
    assert.equal(fromFile.configFile, file);

    const fromEnv = loadConfig({
      env: { NOVA_CONFIG: file, NOVA_GRPC_ADDR: '127.0.0.1:8000', NOVA_LOG_LEVEL: 'debug' },
    });
    assert.equal(fromEnv.grpc.listen.port, 8000, 'environment beats the file');
    assert.equal(fromEnv.grpc.mode, 'dataplane', 'the file still applies where the environment is silent');
    assert.equal(fromEnv.logLevel, 'debug');

    const fromFlags = loadConfig({
      env: { NOVA_CONFIG: file, NOVA_GRPC_ADDR: '127.0.0.1:8000', NOVA_GRPC_MODE: 'router' },
      flags: { grpcAddr: '127.0.0.1:9000' },
    });
    assert.equal(fromFlags.grpc.listen.port, 9000, 'flags beat the environment');
    assert.equal(fromFlags.grpc.mode, 'router');
  });

  it('names every bad setting at once, with where it came from', () => {
    const file = yamlFile('grpc:\n  mode: sideways\n');
    const problems = problemsOf(() =>
      loadConfig({
        configFile: file,
        env: { NOVA_LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', NOVA_AUTH: 'maybe' },
        flags: { grpcAddr: 'nonsense' },
      }),
    );
    assert.equal(problems.length, 5, problems.join('\n'));
    assert.match(problems.join('\n'), /--grpc-addr="nonsense"/);
    assert.match(problems.join('\n'), /grpc\.mode in .*nova\.yaml="sideways": must be one of unified, controlplane/);
    assert.match(problems.join('\n'), /DATABASE_URL="mysql:\/\/x": must start with postgres/);
    assert.match(problems.join('\n'), /NOVA_LOG_LEVEL="loud"/);
    assert.match(problems.join('\n'), /NOVA_AUTH="maybe"/);
  });

  it('reports an unreadable or malformed file', () => {
    assert.match(problemsOf(() => loadConfig({ configFile: '/no/such/nova.yaml' }))[0] ?? '', /no\/such\/nova\.yaml/);
    assert.match(problemsOf(() => loadConfig({ configFile: yamlFile('grpc: [unclosed') }))[0] ?? '', /not valid YAML/);
  });

  it('refuses unknown keys in the file with their line, and names the keys known there', () => {
    const problems = problemsOf(() =>
      loadConfig({ configFile: yamlFile('grpc:\n  adr: ":9090"\n  mode: unified\nlog_levle: debug\n') }),
    );
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0] ?? '', /nova\.yaml, line 2: unknown key "grpc\.adr"; known here: .*\baddr, mode\b/);
    assert.match(problems[1] ?? '', /line 4: unknown key "log_levle"; known here: .*log_level/);
    assert.match(
      problemsOf(() => loadConfig({ configFile: yamlFile('grpc: 9090\n') }))[0] ?? '',
      /line 1: "grpc" holds keys, not a value/,
    );
    assert.match(
      problemsOf(() => loadConfig({ configFile: yamlFile('grpc:\n  mode: unified\n  mode: router\n') }))[0] ?? '',
      /line 3: not valid YAML: Map keys must be unique/,
    );
  });

  it('refuses a non-loopback address without auth, naming both ways out', () => {
    const problems = problemsOf(() => loadConfig({ env: {}, flags: { grpcAddr: ':9090' } }));
    assert.match(problems[0] ?? '', /NOVA_AUTH=required/);
    assert.match(problems[0] ?? '', /--insecure/);
    assert.equal(
      loadConfig({ env: { NOVA_AUTH: 'required' }, flags: { grpcAddr: ':9090' } }).grpc.listen.host,
      '0.0.0.0',
    );
    assert.equal(loadConfig({ env: { NOVA_INSECURE: 'true' }, flags: { grpcAddr: ':9090' } }).insecure, true);
    assert.equal(loadConfig({ env: {}, flags: { grpcAddr: ':9090', insecure: true } }).insecure, true);
  });

  it('refuses to disable gRPC but accepts the seed flag --grpc-enabled', () => {
    assert.equal(loadConfig({ env: {}, flags: { grpcEnabled: true } }).grpc.mode, 'unified');
    assert.match(problemsOf(() => loadConfig({ env: { NOVA_GRPC_ENABLED: 'false' } }))[0] ?? '', /cannot be disabled/);
  });
});

describe('listen addresses', () => {
  it('parses host:port, [v6]:port and :port', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9090'), { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(parseListenAddress(':9090'), { host: '0.0.0.0', port: 9090 });
    assert.deepEqual(parseListenAddress('[::1]:50051'), { host: '::1', port: 50051 });
    assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
    for (const bad of ['9090', 'host:', 'host:99999', ':x', '']) assert.throws(() => parseListenAddress(bad));
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) assert.ok(!isLoopbackHost(host), host);
  });
});
