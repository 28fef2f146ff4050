import { InitialSchema1795392000000 } from './1795392000000-InitialSchema.js';

/** Every migration, oldest first. */
export const migrations = [InitialSchema1795392000000];
