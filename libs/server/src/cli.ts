/**
 * The light entry of #server for the `nova` CLI: the settings table and
 * what reads YAML and the build, without Nest, TypeORM or the planes, which
 * only server commands load (when they run).
 */
export { settings, shownDefaultOf, type SettingDefinition, type SettingKey } from './config/settings.js';
export { readCheckedYaml, type CheckedYaml } from './config/yaml-keys.js';
export { buildInfo, type BuildInfo } from './build-info.js';
