import 'reflect-metadata';
import { runNovaProcess } from '#server';
import { routerDefinition } from './index.js';

// This plane alone, e.g. `npx nest start router`; settings come from the environment.
await runNovaProcess({ env: process.env, flags: { mode: 'router' } }, () => [routerDefinition]);
