import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findUpward } from '#proto';
import { renderSettingsTable, settings } from './settings.js';

const readme = join(findUpward(import.meta.url, 'README.md'), 'README.md');

describe('settings documentation', () => {
  it('the README’s settings table is the one rendered from the settings table (npm run docs:settings writes it)', () => {
    const text = readFileSync(readme, 'utf8');
    const block = /<!-- settings-table:start -->\n\n?([\s\S]*?)\n\n?<!-- settings-table:end -->/.exec(text);
    assert.ok(block, 'README.md has the settings-table markers');
    assert.equal(block[1], renderSettingsTable());
  });

  it('names every setting once by its environment variable and its flag', () => {
    const table = renderSettingsTable();
    for (const definition of Object.values(settings)) {
      assert.equal(table.split(`\`${definition.env}\``).length, 2, definition.env);
      assert.equal(table.split(`\`${definition.flagName}\``).length, 2, definition.flagName);
    }
  });
});
