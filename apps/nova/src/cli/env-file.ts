import { readFile } from 'node:fs/promises';

/**
 * A .env file as docker compose and most tools read it: NAME=VALUE lines,
 * `export ` allowed in front, # comments and blank lines skipped, a value
 * in single or double quotes taken as it is inside them.
 */
export async function readEnvFile(file: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new Error(`${file}:${index + 1}: expected NAME=VALUE (got "${line}")`);
    const value = match[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    vars[match[1]!] = quoted ? quoted[2]! : value.replace(/\s+#.*$/, '');
  });
  return vars;
}
