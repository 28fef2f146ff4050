// Rewrites the settings table in README.md from libs/server's settings table
// (run after a build; settings-table.spec.ts fails while they differ).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderSettingsTable } from '../dist/libs/server/src/config/settings.js';

const start = '<!-- settings-table:start -->';
const end = '<!-- settings-table:end -->';
const readme = readFileSync('README.md', 'utf8');
const from = readme.indexOf(start);
const to = readme.indexOf(end);
if (from < 0 || to < from) throw new Error(`README.md needs ${start} and ${end} around the settings table`);
writeFileSync(
  'README.md',
  `${readme.slice(0, from + start.length)}\n\n${renderSettingsTable()}\n\n${readme.slice(to)}`,
);
