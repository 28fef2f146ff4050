export {
  RuntimeCatalog,
  probeRuntimes,
  type RuntimeDescriptor,
  type RuntimeId,
  type RuntimeProbeResult,
} from './runtime-catalog.js';
export { RuntimesModule } from './runtimes.module.js';
