import 'reflect-metadata';
import { runNovaProcess } from '#server';
import { controlPlaneDefinition } from './index.js';

// This plane alone, e.g. `npx nest start control-plane`; settings come from the environment.
await runNovaProcess({ env: process.env, flags: { mode: 'controlplane' } }, () => [controlPlaneDefinition]);
