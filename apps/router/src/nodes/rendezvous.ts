/**
 * Rendezvous (highest random weight) hashing: every node scores every key,
 * and a key's nodes in rank are the nodes by descending score. A node that
 * joins or leaves moves only the keys it ranks first for; the rest keep
 * their node, and their warm instances with it.
 */

/** 32-bit FNV-1a over a string's UTF-16 units, then a murmur3 finaliser so that nearby ids spread. */
export function scoreOf(nodeId: string, key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < nodeId.length; i++) hash = Math.imul(hash ^ nodeId.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ 0, 0x01000193);
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** The nodes in rank for a key: the first is its home, the next take its overflow and failover. */
export function rankFor<T extends { id: string }>(nodes: readonly T[], key: string): T[] {
  return nodes
    .map((node) => ({ node, score: scoreOf(node.id, key) }))
    .sort((a, b) => b.score - a.score || (a.node.id < b.node.id ? -1 : 1))
    .map((entry) => entry.node);
}
