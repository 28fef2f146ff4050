/** The light entry of #storage: plain values clients need (the CLI's help), without TypeORM or pg. */
export { apiKeyScopes, type ApiKeyScope } from './api-keys/api-key-record.js';
