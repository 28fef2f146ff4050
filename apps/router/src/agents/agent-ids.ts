import type { RegisteredKind } from '#storage';

/**
 * Ids name the same agent, tool or worker both ways round, as seed 004's
 * router maps them: clients say "echo-agent", the service is "agent-echo".
 * Nova stores the client form.
 */
export function clientIdOf(kind: RegisteredKind, id: string): string {
  const prefix = `${kind}-`;
  if (id.startsWith(prefix) && id.length > prefix.length && !id.endsWith(`-${kind}`)) {
    return `${id.slice(prefix.length)}-${kind}`;
  }
  return id;
}

/** The service form: "echo-agent" → "agent-echo"; an id without the kind in it gets it in front. */
export function serviceIdOf(kind: RegisteredKind, id: string): string {
  const client = clientIdOf(kind, id);
  const suffix = `-${kind}`;
  const name = client.endsWith(suffix) && client.length > suffix.length ? client.slice(0, -suffix.length) : client;
  return `${kind}-${name}`;
}
