import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { zipSync, type Zippable } from 'fflate';
import {
  Agents,
  NotFoundError,
  type AgentSpec,
  type Backing,
  type FunctionInfo,
  type Nova,
  type ParameterInfo,
  type ToolSpec,
  type WorkerSpec,
} from '#client';
import { readCheckedYaml } from '#server/cli';
import { withClient, withNova } from './client-options.js';
import { readEnvFile } from './env-file.js';
import { printJson } from './output.js';

/** The file `nova init` writes and `nova apply` reads. */
const MANIFEST = 'nova.yaml';

/** What one function of a manifest may say; absent settings take their defaults. */
interface ManifestFunction {
  runtime?: string;
  handler?: string;
  code?: string;
  memory_mb?: number;
  timeout_s?: number;
  env?: Record<string, string | number | boolean>;
  env_file?: string;
  min_replicas?: number;
  max_replicas?: number;
  network?: string;
  concurrency?: number;
}

/** An agent, tool or worker of a manifest: what backs it, and its info as agentplatform lists it. */
interface ManifestService {
  function?: string;
  endpoints?: string[];
  name?: string;
  description?: string;
  detailed_description?: string;
  how_it_works?: string;
  return_format?: string;
  use_cases?: string[];
  version?: string | number;
  capabilities?: string[];
  tags?: string[];
  parameters?: { name: string; type?: string; required?: boolean; description?: string }[];
}

interface Manifest {
  functions: Record<string, ManifestFunction>;
  agents: Record<string, ManifestService>;
  tools: Record<string, ManifestService>;
  workers: Record<string, ManifestService>;
}

const serviceKeys = [
  'function',
  'endpoints',
  'name',
  'description',
  'detailed_description',
  'how_it_works',
  'return_format',
  'use_cases',
  'version',
];

const manifestKeys = [
  ...[
    'runtime',
    'handler',
    'code',
    'memory_mb',
    'timeout_s',
    'env',
    'env_file',
    'min_replicas',
    'max_replicas',
    'network',
    'concurrency',
  ].map((key) => `functions.*.${key}`),
  ...[...serviceKeys, 'capabilities'].map((key) => `agents.*.${key}`),
  ...[...serviceKeys, 'parameters'].map((key) => `tools.*.${key}`),
  ...[...serviceKeys, 'tags', 'parameters'].map((key) => `workers.*.${key}`),
];

const templates = {
  python: {
    file: 'handler.py',
    handler: 'handler.handler',
    source: `def handler(event, context):
    """Called once per invocation: event is the JSON payload, context names the call."""
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    print(f"greeting {name} in request {context.request_id}")
    return {"message": f"Hello, {name}!"}
`,
  },
  node: {
    file: 'index.mjs',
    handler: 'index.handler',
    source: `// Called once per invocation: event is the JSON payload, context names the call.
export async function handler(event, context) {
  const name = event?.name ?? 'world';
  console.log(\`greeting \${name} in request \${context.requestId}\`);
  return { message: \`Hello, \${name}!\` };
}
`,
  },
} as const;

function manifestFor(name: string, runtime: keyof typeof templates): string {
  const { file, handler } = templates[runtime];
  return `# Nova functions of this folder: \`nova apply\` creates them, or updates them to match.
# Keys: runtime, handler, code, memory_mb, timeout_s, env, env_file, min_replicas,
# max_replicas, network, concurrency (README, "Projects").
functions:
  ${name}:
    runtime: ${runtime}
    handler: ${handler}   # function ${handler.split('.')[1]} of ${file}
    code: .                # this folder, zipped (hidden files and ${MANIFEST} left out)
    memory_mb: 128
    timeout_s: 30
    env:
      LOG_LEVEL: info
`;
}

async function writeNew(path: string, text: string): Promise<void> {
  await writeFile(path, text, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST') throw new Error(`${path} already exists; nova init never overwrites`);
    throw error;
  });
}

/** A folder as a zip, byte for byte the same for the same files, so unchanged code is no new version. */
async function zipFolder(root: string): Promise<Buffer> {
  const files: Zippable = {};
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      if (entry.name.startsWith('.') || (dir === root && entry.name === MANIFEST)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files[relative(root, path)] = [await readFile(path), { mtime: new Date(1980, 0, 1) }];
    }
  };
  await walk(root);
  if (Object.keys(files).length === 0) throw new Error(`${root} holds no files to deploy`);
  return Buffer.from(zipSync(files, { level: 6 }));
}

async function codeOf(path: string): Promise<Buffer> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`code ${path} does not exist`);
  return info.isDirectory() ? zipFolder(path) : readFile(path);
}

function checkedManifest(text: string, file: string): Manifest {
  const { value, problems } = readCheckedYaml(text, manifestKeys);
  if (problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  const document = (value ?? {}) as Partial<Record<keyof Manifest, Record<string, unknown> | null>>;
  const manifest: Manifest = {
    functions: (document.functions ?? {}) as Record<string, ManifestFunction>,
    agents: (document.agents ?? {}) as Record<string, ManifestService>,
    tools: (document.tools ?? {}) as Record<string, ManifestService>,
    workers: (document.workers ?? {}) as Record<string, ManifestService>,
  };
  if (Object.values(manifest).every((section: Record<string, unknown>) => Object.keys(section).length === 0)) {
    throw new Error(`${file}: nothing to apply (expected functions, agents, tools or workers: NAME: ...)`);
  }
  for (const [name, spec] of Object.entries(manifest.functions)) {
    if (!spec?.runtime || !spec.handler) throw new Error(`${file}: function ${name} needs runtime and handler`);
  }
  for (const kind of ['agents', 'tools', 'workers'] as const) {
    for (const [id, spec] of Object.entries(manifest[kind])) {
      if (spec?.function && spec.endpoints) {
        throw new Error(`${file}: ${kind}.${id} has both function and endpoints; one of them backs it`);
      }
      if (spec?.endpoints && !Array.isArray(spec.endpoints)) {
        throw new Error(`${file}: ${kind}.${id}.endpoints is a list of host:port`);
      }
    }
  }
  return manifest;
}

function backingOf(id: string, spec: ManifestService | null): Backing {
  if (spec?.endpoints) return { endpoints: spec.endpoints.map(String) };
  return { function: spec?.function ?? id };
}

function parametersOf(spec: ManifestService): ParameterInfo[] {
  return (spec.parameters ?? []).map((parameter) => ({
    name: String(parameter.name),
    type: parameter.type ?? 'string',
    required: parameter.required === true,
    description: parameter.description ?? '',
  }));
}

function infoOf(spec: ManifestService | null): AgentSpec & ToolSpec & WorkerSpec {
  const given = spec ?? {};
  return {
    ...(given.name !== undefined ? { name: given.name } : {}),
    ...(given.description !== undefined ? { description: given.description } : {}),
    ...(given.detailed_description !== undefined ? { detailedDescription: given.detailed_description } : {}),
    ...(given.how_it_works !== undefined ? { howItWorks: given.how_it_works } : {}),
    ...(given.return_format !== undefined ? { returnFormat: given.return_format } : {}),
    ...(given.use_cases !== undefined ? { useCases: given.use_cases.map(String) } : {}),
    ...(given.version !== undefined ? { version: String(given.version) } : {}),
    ...(given.capabilities !== undefined ? { capabilities: given.capabilities.map(String) } : {}),
    ...(given.tags !== undefined ? { tags: given.tags.map(String) } : {}),
    parameters: parametersOf(given),
  };
}

/** Registers the manifest's agents, tools and workers; lines saying what each became. */
async function applyServices(
  agents: Agents,
  manifest: Manifest,
): Promise<{ kind: string; id: string; action: string }[]> {
  const results: { kind: string; id: string; action: string }[] = [];
  const outcome = (message: string): string => message.split(' ').at(-1) ?? message;
  for (const [id, spec] of Object.entries(manifest.agents)) {
    const done = await agents.registerAgent(id, backingOf(id, spec), infoOf(spec));
    results.push({ kind: 'agent', id, action: outcome(done.message) });
  }
  for (const [id, spec] of Object.entries(manifest.tools)) {
    const done = await agents.registerTool(id, backingOf(id, spec), infoOf(spec));
    results.push({ kind: 'tool', id, action: outcome(done.message) });
  }
  for (const [id, spec] of Object.entries(manifest.workers)) {
    const done = await agents.registerWorker(id, backingOf(id, spec), infoOf(spec));
    results.push({ kind: 'worker', id, action: outcome(done.message) });
  }
  return results;
}

/** The manifest a path names: a folder holding nova.yaml, or the file itself. */
async function readManifest(path: string): Promise<{ file: string; manifest: Manifest }> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${path} does not exist`);
  const file = info.isDirectory() ? join(path, MANIFEST) : path;
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`${file} not found; \`nova init NAME --runtime python\` writes one`);
  });
  return { file, manifest: checkedManifest(text, file) };
}

type ApplyResult = { function: string; action: 'created' | 'updated' | 'unchanged'; version: number };

async function applyOne(nova: Nova, name: string, spec: ManifestFunction, base: string): Promise<ApplyResult> {
  const code = await codeOf(resolve(base, spec.code ?? '.'));
  const envVars = {
    ...(spec.env_file ? await readEnvFile(resolve(base, spec.env_file)) : {}),
    ...Object.fromEntries(Object.entries(spec.env ?? {}).map(([key, value]) => [key, String(value)])),
  };
  const settings = {
    memoryMb: spec.memory_mb ?? 0,
    timeoutS: spec.timeout_s ?? 0,
    minReplicas: spec.min_replicas ?? 0,
    maxReplicas: spec.max_replicas ?? 0,
    network: spec.network ?? '',
    concurrency: spec.concurrency ?? 0,
    envVars,
  };
  let current: FunctionInfo | undefined;
  try {
    current = await nova.getFunction(name);
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  if (!current) {
    const created = await nova.createFunction({
      name,
      runtime: spec.runtime!,
      handler: spec.handler!,
      code,
      ...settings,
    });
    return { function: name, action: 'created', version: created.version };
  }
  if (current.runtime !== spec.runtime) {
    throw new Error(
      `${name}: the runtime cannot change (${current.runtime} to ${spec.runtime}); delete the function first`,
    );
  }
  // Declarative: what the manifest leaves out goes back to its default (every setting is given, 0 or "" for that).
  const updated = await nova.updateFunction(name, settings);
  const stored = await nova.updateFunctionCode(name, code, { handler: spec.handler! });
  const settingsOf = (fn: FunctionInfo): string =>
    JSON.stringify([
      fn.memoryMb,
      fn.timeoutS,
      fn.minReplicas,
      fn.maxReplicas,
      fn.network,
      fn.concurrency,
      Object.entries(fn.envVars).sort(),
    ]);
  const settingsChanged = settingsOf(updated) !== settingsOf(current);
  return {
    function: name,
    action: stored.unchanged && !settingsChanged ? 'unchanged' : 'updated',
    version: stored.version,
  };
}

export function registerProjectCommands(program: Command): void {
  program
    .command('init')
    .description(`start a function in a new folder: a handler, a ${MANIFEST} for \`nova apply\`, a test event`)
    .argument('<name>', 'the function name (lowercase letters, digits and -)')
    .requiredOption('--runtime <runtime>', 'python or node')
    .option('--dir <folder>', 'where to write it (default ./NAME)')
    .action(async (name: string, flags: { runtime: string; dir?: string }) => {
      if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
        throw new Error(`"${name}" is not a function name: lowercase letters, digits and '-', starting with a letter`);
      }
      if (!(flags.runtime in templates)) {
        throw new Error(`--runtime must be one of ${Object.keys(templates).join(', ')} (got "${flags.runtime}")`);
      }
      const runtime = flags.runtime as keyof typeof templates;
      const dir = resolve(flags.dir ?? name);
      await mkdir(dir, { recursive: true });
      const template = templates[runtime];
      await writeNew(join(dir, template.file), template.source);
      await writeNew(join(dir, MANIFEST), manifestFor(name, runtime));
      await writeNew(join(dir, 'event.json'), '{"name": "Nova"}\n');
      const shown = relative(process.cwd(), dir) || '.';
      process.stdout.write(
        `wrote ${join(shown, template.file)}, ${join(shown, MANIFEST)} and ${join(shown, 'event.json')}\n` +
          `next: cd ${shown} && nova apply && nova invoke ${name} @event.json\n`,
      );
    });

  program
    .command('apply')
    .description(
      `create or update the functions of a ${MANIFEST} to match it (unchanged code makes no version), ` +
        'and register its agents, tools and workers',
    )
    .argument('[path]', `a folder holding ${MANIFEST}, or the manifest itself`, '.')
    .option('--json', 'print JSON')
    .action(async (path: string, flags: { json?: boolean }, command: Command) => {
      const { file, manifest } = await readManifest(path);
      const results: ApplyResult[] = [];
      await withNova(command, async (nova) => {
        for (const [name, spec] of Object.entries(manifest.functions)) {
          const result = await applyOne(nova, name, spec, dirname(resolve(file)));
          results.push(result);
          if (!flags.json) process.stdout.write(`${result.action} ${name} (version ${result.version})\n`);
        }
      });
      const services = await withClient(
        command,
        (options) => new Agents(options),
        (agents) => applyServices(agents, manifest),
      );
      if (!flags.json) {
        for (const service of services) process.stdout.write(`${service.action} ${service.kind} ${service.id}\n`);
      }
      if (flags.json) printJson([...results, ...services]);
    });

  program
    .command('delete')
    .description(`remove what a ${MANIFEST} declares: its agents, tools, workers and functions`)
    .argument('[path]', `a folder holding ${MANIFEST}, or the manifest itself`, '.')
    .action(async (path: string, _flags: unknown, command: Command) => {
      const { manifest } = await readManifest(path);
      const gone = async (what: string, remove: () => Promise<void>): Promise<void> => {
        try {
          await remove();
          process.stdout.write(`deleted ${what}\n`);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          process.stdout.write(`${what} was not there\n`);
        }
      };
      await withClient(
        command,
        (options) => new Agents(options),
        async (agents) => {
          for (const [kind, section] of [
            ['agent', manifest.agents],
            ['tool', manifest.tools],
            ['worker', manifest.workers],
          ] as const) {
            for (const id of Object.keys(section)) await gone(`${kind} ${id}`, () => agents.unregister(kind, id));
          }
        },
      );
      await withNova(command, async (nova) => {
        for (const name of Object.keys(manifest.functions))
          await gone(`function ${name}`, () => nova.deleteFunction(name));
      });
    });
}
