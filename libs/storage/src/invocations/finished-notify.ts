/** Ids per NOTIFY: 150 uuids and commas stay far below PostgreSQL's 8000-byte payload limit. */
const IDS_PER_NOTIFY = 150;

/**
 * Turns a statement that finishes invocations into one that also NOTIFYs
 * their ids on nova_invocations (comma-separated, in chunks), in the same
 * statement: one round trip, and a listener hears only of committed rows.
 * The row of the answer has `done`, how many rows the statement wrote.
 */
export function notifyingFinished(statement: string, idColumn: string, channelParam: string): string {
  return `WITH done AS (${statement} RETURNING ${idColumn} AS id),
    notified AS (
      SELECT pg_notify(${channelParam}, string_agg(id, ','))
        FROM (SELECT id, (row_number() OVER ()) / ${IDS_PER_NOTIFY} AS chunk FROM done) numbered
       GROUP BY chunk)
    SELECT (SELECT count(*) FROM done)::int AS done, (SELECT count(*) FROM notified)::int AS notified`;
}
