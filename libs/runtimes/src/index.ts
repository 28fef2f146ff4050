export {
  RuntimeCatalog,
  probeRuntimes,
  type RuntimeDescriptor,
  type RuntimeId,
  type RuntimeProbeResult,
} from './runtime-catalog.js';
export { RuntimesModule } from './runtimes.module.js';
export { ArchiveError, archiveLimits, isZip, readZipEntries, unpackZip } from './code/zip-archive.js';
export { unpackArchive } from './code/unpack-archive.js';
export { defaultHandlerModule, findHandlerFile, handlerModule, type HandlerModule } from './code/handler-module.js';
