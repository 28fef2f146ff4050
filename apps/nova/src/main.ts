#!/usr/bin/env node
import 'reflect-metadata';
import { Command, CommanderError } from 'commander';
import { buildInfo } from '#server/cli';
import { registerFunctionCommands } from './cli/function-commands.js';
import { registerInvokeCommands } from './cli/invoke-commands.js';
import { registerNodeCommands } from './cli/node-commands.js';
import { registerWorkflowCommands } from './cli/workflow-commands.js';
import { registerServerCommands } from './cli/server-commands.js';
import { registerProjectCommands } from './cli/project-commands.js';
import { registerStateCommands } from './cli/state-commands.js';
import { describeError } from './cli/output.js';
import { addressOf } from './cli/client-options.js';

// `nova functions list | head` closes stdout early; that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const { version } = buildInfo();

const program = new Command('nova')
  .description('Nova: serverless functions and agents over gRPC')
  .version(version, '-V, --version', 'print the version of Nova')
  .option('--addr <host:port>', 'server address for client commands (env NOVA_ADDR, default localhost:9090)')
  .option('--api-key <key>', 'API key for client commands (env NOVA_API_KEY)')
  .option('--tls-ca <file>', 'TLS: CA bundle of the server (env NOVA_TLS_CA); --tls-* or https:// turn TLS on')
  .option('--tls-cert <file>', 'TLS: client certificate, for a server that requires one (env NOVA_TLS_CERT)')
  .option('--tls-key <file>', 'TLS: key of --tls-cert (env NOVA_TLS_KEY)')
  // `nova --version` is Nova's; `nova invoke NAME --version 3` is the function's.
  .enablePositionalOptions()
  .showHelpAfterError()
  .exitOverride();

registerServerCommands(program);
registerFunctionCommands(program);
registerInvokeCommands(program);
registerProjectCommands(program);
registerStateCommands(program);
registerNodeCommands(program);
registerWorkflowCommands(program);
acceptClientFlagsAnywhere(program);

let running: Command = program;
program.hook('preAction', (_program, actionCommand) => {
  running = actionCommand;
});

/**
 * With positional options the root's flags must come before the command;
 * --addr, --api-key and --tls-* are also taken after it, as users type them.
 */
function acceptClientFlagsAnywhere(command: Command): void {
  if (command.commands.length > 0) {
    for (const sub of command.commands) acceptClientFlagsAnywhere(sub);
    return;
  }
  const has = (flag: string): boolean => command.options.some((option) => option.long === flag);
  if (has('--config')) return; // a server command: it has settings, not a server to call
  if (!has('--addr')) command.option('--addr <host:port>', 'server address (env NOVA_ADDR, default localhost:9090)');
  if (!has('--api-key')) command.option('--api-key <key>', 'API key (env NOVA_API_KEY)');
  if (!has('--tls-ca')) command.option('--tls-ca <file>', 'TLS: CA bundle of the server (env NOVA_TLS_CA)');
  if (!has('--tls-cert')) command.option('--tls-cert <file>', 'TLS: client certificate (env NOVA_TLS_CERT)');
  if (!has('--tls-key')) command.option('--tls-key <file>', 'TLS: key of --tls-cert (env NOVA_TLS_KEY)');
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else {
    const address = addressOf(running.optsWithGlobals(), process.env);
    process.stderr.write(`error: ${describeError(error, address)}\n`);
    process.exitCode = 1;
  }
}
