import type { MigrationInterface, QueryRunner } from 'typeorm';

/** nova_state_apply as this migration made it (1795530000000 replaces it and, going down, restores it). */
export const stateApplyV1 = `
      CREATE OR REPLACE FUNCTION nova_state_apply(
        p_txn uuid, p_kind text[], p_namespace text[], p_agent text[], p_key text[], p_value jsonb[], p_expected bigint[]
      ) RETURNS TABLE (
        applied_ts bigint, conflict_namespace text, conflict_agent text, conflict_key text,
        conflict_expected bigint, conflict_actual bigint
      ) LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_ts bigint;
        v_conflict record;
        v_agents json;
        v_notice text;
      BEGIN
        -- From here to COMMIT the clock's row is this transaction's: versions
        -- read below cannot change under it, and commit_ts follows commit order.
        UPDATE state_clock SET ts = ts + 1 RETURNING ts INTO v_ts;

        SELECT o.namespace, o.agent_id, o.key, o.expected, coalesce(l.version, 0) AS actual
          INTO v_conflict
          FROM unnest(p_namespace, p_agent, p_key, p_expected) WITH ORDINALITY
               AS o(namespace, agent_id, key, expected, ord)
          LEFT JOIN state_latest l
            ON l.namespace = o.namespace AND l.agent_id = o.agent_id AND l.key = o.key
         WHERE o.expected IS NOT NULL
           AND NOT (o.expected = coalesce(l.version, 0) OR (o.expected = 0 AND l.value IS NULL))
         ORDER BY o.ord
         LIMIT 1;
        IF FOUND THEN
          RETURN QUERY SELECT NULL::bigint, v_conflict.namespace, v_conflict.agent_id, v_conflict.key::text,
                              v_conflict.expected, v_conflict.actual;
          RETURN;
        END IF;

        -- One statement: every part sees the versions as of the clock above.
        WITH ops AS (
          SELECT o.ord, o.namespace, o.agent_id, o.key, o.value,
                 coalesce(l.version, 0)
                   + row_number() OVER (PARTITION BY o.namespace, o.agent_id, o.key ORDER BY o.ord) AS version
            FROM unnest(p_kind, p_namespace, p_agent, p_key, p_value) WITH ORDINALITY
                 AS o(kind, namespace, agent_id, key, value, ord)
            LEFT JOIN state_latest l
              ON l.namespace = o.namespace AND l.agent_id = o.agent_id AND l.key = o.key
           WHERE o.kind <> 'check'
        ), versions AS (
          INSERT INTO state_versions (namespace, agent_id, key, version, value, commit_ts)
          SELECT namespace, agent_id, key, version, value, v_ts FROM ops
        ), latest AS (
          INSERT INTO state_latest (namespace, agent_id, key, version, value, commit_ts)
          SELECT DISTINCT ON (namespace, agent_id, key) namespace, agent_id, key, version, value, v_ts
            FROM ops
           ORDER BY namespace, agent_id, key, ord DESC
              ON CONFLICT (namespace, agent_id, key) DO UPDATE
             SET version = EXCLUDED.version, value = EXCLUDED.value, commit_ts = EXCLUDED.commit_ts
        ), events AS (
          INSERT INTO state_events (namespace, agent_id, commit_ts, txn_id, operations)
          SELECT namespace, agent_id, v_ts, p_txn,
                 jsonb_agg(jsonb_build_object('key', key, 'value', value, 'version', version) ORDER BY ord)
            FROM ops
           GROUP BY namespace, agent_id
        )
        SELECT coalesce(json_agg(json_build_array(a.namespace, a.agent_id)), '[]'::json) INTO v_agents
          FROM (SELECT DISTINCT namespace, agent_id FROM ops) a;
        v_notice := json_build_object('ts', v_ts, 'agents', v_agents)::text;
        -- NOTIFY's payload is under 8 000 bytes: past that, listeners look for themselves.
        IF length(v_notice) >= 7000 THEN
          v_notice := json_build_object('ts', v_ts, 'agents', NULL)::text;
        END IF;
        PERFORM pg_notify('nova_state', v_notice);
        RETURN QUERY SELECT v_ts, NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bigint;
      END
      $fn$`;

/**
 * A commit in one round trip (docs/adr/0007-state-on-postgres.md). Every
 * commit holds state_clock's row lock from taking its commit_ts to COMMIT,
 * so the commits of the whole store queue on it: each statement sent while
 * the lock is held is time every other commit waits. These functions do a
 * commit's work inside the server, where a statement costs no network trip.
 *
 * nova_state_apply: takes the next commit_ts, checks expected versions
 * against the versions as of that moment, and applies the operations
 * (versions, latest, one event per agent, NOTIFY nova_state). A conflict
 * applies nothing and answers the operation that broke.
 *
 * nova_state_commit: statehouse.v1's Commit of a staged transaction.
 *
 * nova_state_locked_get: a read for a transaction that function code holds
 * open: the key's advisory lock first (held to the end of the transaction,
 * so function transactions on one key take turns instead of conflicting),
 * then the read, in a statement of its own so that it sees every commit
 * made before the lock was granted.
 */
export class StateCommitFunctions1795460000000 implements MigrationInterface {
  name = 'StateCommitFunctions1795460000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(stateApplyV1);

    await queryRunner.query(`
      CREATE FUNCTION nova_state_commit(p_txn uuid) RETURNS TABLE (
        problem text, applied_ts bigint, conflict_namespace text, conflict_agent text, conflict_key text,
        conflict_expected bigint, conflict_actual bigint
      ) LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_status text;
        v_expired boolean;
        v_kind text[];
        v_namespace text[];
        v_agent text[];
        v_key text[];
        v_value jsonb[];
        v_expected bigint[];
        v_result record;
      BEGIN
        SELECT t.status, t.expires_at <= now() INTO v_status, v_expired
          FROM state_txns t WHERE t.txn_id = p_txn FOR UPDATE;
        IF NOT FOUND THEN
          RETURN QUERY SELECT 'unknown'::text, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bigint;
          RETURN;
        END IF;
        IF v_status <> 'open' OR v_expired THEN
          RETURN QUERY SELECT CASE WHEN v_status <> 'open' THEN v_status ELSE 'expired' END,
                              NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bigint;
          RETURN;
        END IF;

        SELECT coalesce(array_agg(CASE WHEN s.value IS NULL THEN 'delete' ELSE 'write' END ORDER BY s.seq), '{}'),
               coalesce(array_agg(s.namespace ORDER BY s.seq), '{}'),
               coalesce(array_agg(s.agent_id ORDER BY s.seq), '{}'),
               coalesce(array_agg(s.key::text ORDER BY s.seq), '{}'),
               coalesce(array_agg(s.value ORDER BY s.seq), '{}'),
               coalesce(array_agg(s.expected_version ORDER BY s.seq), '{}')
          INTO v_kind, v_namespace, v_agent, v_key, v_value, v_expected
          FROM state_staged s WHERE s.txn_id = p_txn;

        SELECT * INTO v_result FROM nova_state_apply(p_txn, v_kind, v_namespace, v_agent, v_key, v_value, v_expected);
        IF v_result.applied_ts IS NULL THEN
          UPDATE state_txns SET status = 'aborted', finished_at = now() WHERE txn_id = p_txn;
          DELETE FROM state_staged WHERE txn_id = p_txn;
          RETURN QUERY SELECT 'conflict'::text, NULL::bigint, v_result.conflict_namespace, v_result.conflict_agent,
                              v_result.conflict_key, v_result.conflict_expected, v_result.conflict_actual;
          RETURN;
        END IF;
        UPDATE state_txns SET status = 'committed', commit_ts = v_result.applied_ts, finished_at = now()
         WHERE txn_id = p_txn;
        DELETE FROM state_staged WHERE txn_id = p_txn;
        RETURN QUERY SELECT NULL::text, v_result.applied_ts, NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bigint;
      END
      $fn$`);

    await queryRunner.query(`
      CREATE FUNCTION nova_state_locked_get(p_namespace text, p_agent text, p_key text)
      RETURNS TABLE (found_value jsonb, found_version bigint, found_commit_ts bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_namespace || E'\\x1f' || p_agent || E'\\x1f' || p_key, 7901));
        RETURN QUERY SELECT l.value, l.version, l.commit_ts FROM state_latest l
          WHERE l.namespace = p_namespace AND l.agent_id = p_agent AND l.key = p_key;
      END
      $fn$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP FUNCTION nova_state_locked_get(text, text, text)');
    await queryRunner.query('DROP FUNCTION nova_state_commit(uuid)');
    await queryRunner.query('DROP FUNCTION nova_state_apply(uuid, text[], text[], text[], text[], jsonb[], bigint[])');
  }
}
