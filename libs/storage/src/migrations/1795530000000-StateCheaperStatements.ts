import type { MigrationInterface, QueryRunner } from 'typeorm';
import { stateApplyV1 } from './1795460000000-StateCommitFunctions.js';

/**
 * Less work per statehouse.v1 transaction for PostgreSQL (measured in
 * docs/BENCHMARKS.md, "State"):
 *
 * nova_state_apply kept a custom plan for its main statement (the planner
 * costs unnest() at ten rows, so the generic plan, a hash join over a scan
 * of state_latest, never won against the custom one), so every commit
 * planned that statement again. Its reads of state_latest are now LATERAL
 * index lookups, one per operation, good for any number of operations and
 * any size of store, and the function runs on generic plans, made once per
 * session. The expected-version check runs only when an operation has one.
 *
 * nova_state_stage is Write and Delete in one call: it counts the staged
 * operations on the transaction's row instead of counting state_staged on
 * every Write (quadratic over a 1 000-operation transaction), and its
 * UPDATE of that row is what orders it against a Commit of the same
 * transaction (Commit locks the row FOR UPDATE). A transaction that cannot
 * take the operation is named in the answer, in the same round trip.
 */
export class StateCheaperStatements1795530000000 implements MigrationInterface {
  name = 'StateCheaperStatements1795530000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE state_txns ADD COLUMN staged integer NOT NULL DEFAULT 0');
    await queryRunner.query(
      'UPDATE state_txns t SET staged = (SELECT count(*) FROM state_staged s WHERE s.txn_id = t.txn_id)',
    );
    await queryRunner.query(`
      CREATE FUNCTION nova_state_stage(
        p_txn uuid, p_namespace text, p_agent text, p_key text, p_value jsonb, p_expected bigint, p_max integer
      ) RETURNS text LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_status text;
        v_expired boolean;
      BEGIN
        UPDATE state_txns SET staged = staged + 1
         WHERE txn_id = p_txn AND status = 'open' AND expires_at > now() AND staged < p_max;
        IF FOUND THEN
          INSERT INTO state_staged (txn_id, namespace, agent_id, key, value, expected_version)
          VALUES (p_txn, p_namespace, p_agent, p_key, p_value, p_expected);
          RETURN NULL;
        END IF;
        SELECT t.status, t.expires_at <= now() INTO v_status, v_expired FROM state_txns t WHERE t.txn_id = p_txn;
        IF NOT FOUND THEN RETURN 'unknown'; END IF;
        IF v_status <> 'open' THEN RETURN v_status; END IF;
        IF v_expired THEN RETURN 'expired'; END IF;
        RETURN 'too_many_operations';
      END
      $fn$`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION nova_state_apply(
        p_txn uuid, p_kind text[], p_namespace text[], p_agent text[], p_key text[], p_value jsonb[], p_expected bigint[]
      ) RETURNS TABLE (
        applied_ts bigint, conflict_namespace text, conflict_agent text, conflict_key text,
        conflict_expected bigint, conflict_actual bigint
      ) LANGUAGE plpgsql VOLATILE
        SET plan_cache_mode = force_generic_plan
      AS $fn$
      DECLARE
        v_ts bigint;
        v_conflict record;
        v_agents json;
        v_notice text;
      BEGIN
        -- From here to COMMIT the clock's row is this transaction's: versions
        -- read below cannot change under it, and commit_ts follows commit order.
        UPDATE state_clock SET ts = ts + 1 RETURNING ts INTO v_ts;

        IF cardinality(array_remove(p_expected, NULL)) > 0 THEN
          SELECT o.namespace, o.agent_id, o.key, o.expected, coalesce(l.version, 0) AS actual
            INTO v_conflict
            FROM unnest(p_namespace, p_agent, p_key, p_expected) WITH ORDINALITY
                 AS o(namespace, agent_id, key, expected, ord)
            LEFT JOIN LATERAL (
                   SELECT l.version, l.value FROM state_latest l
                    WHERE l.namespace = o.namespace AND l.agent_id = o.agent_id AND l.key = o.key
                    LIMIT 1) l ON true
           WHERE o.expected IS NOT NULL
             AND NOT (o.expected = coalesce(l.version, 0) OR (o.expected = 0 AND l.value IS NULL))
           ORDER BY o.ord
           LIMIT 1;
          IF FOUND THEN
            RETURN QUERY SELECT NULL::bigint, v_conflict.namespace, v_conflict.agent_id, v_conflict.key::text,
                                v_conflict.expected, v_conflict.actual;
            RETURN;
          END IF;
        END IF;

        -- One statement: every part sees the versions as of the clock above.
        -- (LIMIT 1 keeps each lookup an index probe: without it the planner
        -- flattens the subquery into a join it may make a hash join.)
        WITH ops AS (
          SELECT o.ord, o.namespace, o.agent_id, o.key, o.value,
                 coalesce(l.version, 0)
                   + row_number() OVER (PARTITION BY o.namespace, o.agent_id, o.key ORDER BY o.ord) AS version
            FROM unnest(p_kind, p_namespace, p_agent, p_key, p_value) WITH ORDINALITY
                 AS o(kind, namespace, agent_id, key, value, ord)
            LEFT JOIN LATERAL (
                   SELECT l.version FROM state_latest l
                    WHERE l.namespace = o.namespace AND l.agent_id = o.agent_id AND l.key = o.key
                    LIMIT 1) l ON true
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
      $fn$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(stateApplyV1);
    await queryRunner.query('DROP FUNCTION nova_state_stage(uuid, text, text, text, jsonb, bigint, integer)');
    await queryRunner.query('ALTER TABLE state_txns DROP COLUMN staged');
  }
}
