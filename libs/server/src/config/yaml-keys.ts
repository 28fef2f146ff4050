import { LineCounter, isMap, isScalar, parseDocument, type Node } from 'yaml';

/** A YAML file read against the keys it may hold. */
export interface CheckedYaml {
  value: unknown;
  /** "line N: ..." for each syntax error and each key the schema does not know. */
  problems: string[];
}

function matches(pattern: string[], path: string[]): boolean {
  return pattern.length === path.length && pattern.every((part, i) => part === '*' || part === path[i]);
}

/**
 * Parses YAML and names, with its line, every mapping key that is not one of
 * `leaves` (dotted paths; `*` matches any one key) or on the way to one. A
 * leaf's value is not looked into (a map of environment variables is data).
 * A typo like `grpc.adr` is refused rather than silently ignored.
 */
export function readCheckedYaml(text: string, leaves: readonly string[]): CheckedYaml {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lineCounter.linePos(node.range[0]).line : 0);
  const problems = document.errors.map(
    (error) => `line ${error.linePos?.[0].line ?? '?'}: not valid YAML: ${error.message.split('\n')[0]}`,
  );
  if (problems.length > 0) return { value: undefined, problems };
  const patterns = leaves.map((leaf) => leaf.split('.'));
  const isLeaf = (path: string[]): boolean => patterns.some((pattern) => matches(pattern, path));
  const isBranch = (path: string[]): boolean =>
    patterns.some((pattern) => pattern.length > path.length && matches(pattern.slice(0, path.length), path));
  const visit = (node: unknown, path: string[]): void => {
    if (!isMap(node)) {
      if (node !== null && node !== undefined && path.length === 0) problems.push(`line 1: expected a mapping of keys`);
      return;
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const at = [...path, key];
      if (isLeaf(at)) continue;
      if (isBranch(at)) {
        if (pair.value !== null && !isMap(pair.value)) {
          problems.push(`line ${lineOf(pair.key as Node)}: "${at.join('.')}" holds keys, not a value`);
        } else visit(pair.value, at);
        continue;
      }
      const siblings = [
        ...new Set(
          patterns
            .filter((pattern) => pattern.length > path.length && matches(pattern.slice(0, path.length), path))
            .map((pattern) => pattern[path.length]!)
            .filter((name) => name !== '*'),
        ),
      ];
      const hint = siblings.length > 0 ? `; known here: ${siblings.join(', ')}` : '';
      problems.push(`line ${lineOf(pair.key as Node)}: unknown key "${at.join('.')}"${hint}`);
    }
  };
  visit(document.contents, []);
  return { value: document.toJS() ?? {}, problems };
}
