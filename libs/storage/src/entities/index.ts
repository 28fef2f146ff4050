import { ApiKeyEntity } from './api-key.entity.js';
import { CodeBlobEntity } from './code-blob.entity.js';
import { FunctionVersionEntity } from './function-version.entity.js';
import { FunctionEntity } from './function.entity.js';

export const entities = [FunctionEntity, FunctionVersionEntity, CodeBlobEntity, ApiKeyEntity];
export { ApiKeyEntity, CodeBlobEntity, FunctionEntity, FunctionVersionEntity };
