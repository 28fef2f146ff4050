import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { looksLikeEsm } from './sandbox.js';

describe('looksLikeEsm', () => {
  it('sees top-level import and export statements', () => {
    for (const source of [
      'export function main() {}',
      'export const handler = async () => 1;',
      'export default { handler() {} };',
      "import fs from 'node:fs';\nexports.x = 1;",
      "import { a } from './a.mjs';",
      "import './side-effect.mjs';",
      'export async function handler() {}',
      'const x = 1;\nexport { x as handler };',
    ]) {
      assert.ok(looksLikeEsm(source), source);
    }
  });

  it('takes everything else for CommonJS', () => {
    for (const source of [
      'exports.handler = async () => 1;',
      'module.exports = { handler() {} };',
      "const fs = require('node:fs');\nexports.handler = () => fs;",
      '// export function commented() {}\nexports.handler = () => 1;',
      "const s = 'import x from y';\nexports.handler = () => s;",
    ]) {
      assert.ok(!looksLikeEsm(source), source);
    }
  });
});
