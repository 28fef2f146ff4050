import 'reflect-metadata';
import { runNovaProcess } from '#server';
import { dataPlaneDefinition } from './index.js';

// This plane alone, e.g. `npx nest start data-plane`; settings come from the environment.
await runNovaProcess({ env: process.env, flags: { mode: 'dataplane' } }, () => [dataPlaneDefinition]);
