-- The write path as database functions: one call writes a whole batch of runs, in one round
-- trip and one statement (so atomic on its own). Both stores call `mltrace_log_runs`; any other
-- writer (another language's worker) calls the same function and gets the same behaviour.
-- packages/store/README.md describes its arguments.
--
-- Steps, each one statement inside the function: components and runs (idempotent upsert);
-- pointers; outputs, linking consumers logged before their producer; inputs with inferred and
-- explicit dependencies; staleness of the new edges (`mltrace_mark_stale`, its own function).
-- Every run is read by its id, the primary key, behind a fence (lateral, OFFSET 0): a batch reads
-- runs inserted moments ago, which a plan made from the last statistics may think absent.

-- Staleness, mltrace's two rules, computed once when an edge is made: the dependency started
-- more than `staleness_ms` before its consumer, or its component has fresher runs that began
-- before the consumer started, re-runs that wrote one of the dependency's outputs again (any
-- version): runs of one component over other outputs (versions of a model, promotions, tags) are
-- not fresher runs of this one. Runs a bridge read from a versioned history (DVC locks and GTO
-- tags, the MLflow registry) name the versions they used on purpose: no staleness there.
-- Appends one message per stale edge to the consumer's `stale`.
CREATE FUNCTION mltrace_mark_stale(p_run_ids bigint[], p_depends_on_ids bigint[], p_staleness_ms float8)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  WITH edges AS (
    SELECT e.run_id, e.depends_on_run_id, c.started_at, c.source, d.component, d.started_at AS dep_started_at
    FROM unnest(p_run_ids, p_depends_on_ids) AS e(run_id, depends_on_run_id)
    CROSS JOIN LATERAL (SELECT started_at, source FROM component_runs WHERE id = e.run_id OFFSET 0) c
    CROSS JOIN LATERAL (
      SELECT component, started_at FROM component_runs WHERE id = e.depends_on_run_id OFFSET 0) d
  ),
  messages AS (
    SELECT c.run_id, c.depends_on_run_id,
      CASE
        WHEN extract(epoch FROM (c.started_at - c.dep_started_at)) * 1000 > p_staleness_ms
        THEN format('%s (run %s) was run %s days ago.', c.component, c.depends_on_run_id,
                    floor(extract(epoch FROM (c.started_at - c.dep_started_at)) / 86400))
        ELSE (SELECT format('%s (run %s) has %s fresher run(s) that began before this component run started.',
                            c.component, c.depends_on_run_id, count(*) - 1)
              FROM component_runs f
              WHERE f.component = c.component AND f.started_at >= c.dep_started_at
                AND f.started_at <= c.started_at AND f.id <> c.run_id
                AND EXISTS (
                  SELECT 1 FROM run_outputs fo
                  JOIN io_pointers fp ON fp.id = fo.pointer_id
                  JOIN io_pointers dp ON dp.uri = fp.uri
                  JOIN run_outputs dout ON dout.pointer_id = dp.id AND dout.run_id = c.depends_on_run_id
                  WHERE fo.run_id = f.id)
              HAVING count(*) > 1)
      END AS message
    FROM edges c
    WHERE c.source NOT IN ('dvc', 'mlflow')
  )
  UPDATE component_runs r SET stale = r.stale || s.messages
  FROM (SELECT run_id, array_agg(message ORDER BY depends_on_run_id) AS messages
        FROM messages WHERE message IS NOT NULL GROUP BY run_id) s
  WHERE r.id = s.run_id;
END
$$;

-- Writes a batch. Arguments (json arrays; README "The write function"):
--   p_runs: one object per run, run keys unique in the batch: run_key, component, source,
--     status, started_at, and optionally ended_at, attempt, git_commit, code_hash,
--     code_snapshot, error_message, error_type, notes, namespace, workflow_id,
--     workflow_run_id, workflow_type, task_queue, parent_workflow_id, root_workflow_id,
--     metadata (an object), infer (infer dependencies from inputs; default true).
--   p_pointers: {uri, version, type} objects, each (uri, version) once.
--   p_outputs, p_inputs: {r, p} objects: run r (1-based, in p_runs) wrote/read pointer p
--     (1-based, in p_pointers).
--   p_depends_on: {r, key} objects: run r depends on the run with that run key.
--   p_staleness_ms: the staleness threshold.
-- Returns {"ids": [...], "created": [...]}, in the order of p_runs.
-- Errors: SQLSTATE ML001 for a dependsOn naming an unknown run; ML002 for a pointer that could
-- be neither inserted nor read (deleted meanwhile: retry).
CREATE FUNCTION mltrace_log_runs(
  p_runs json, p_pointers json, p_outputs json, p_inputs json, p_depends_on json, p_staleness_ms float8)
RETURNS json LANGUAGE plpgsql AS $$
DECLARE
  v_plan_mode text := current_setting('plan_cache_mode');
  v_ids bigint[];
  v_created boolean[];
  v_started timestamptz[];
  v_infer boolean[];
  v_pointer_ids bigint[];
  v_uris text[];
  v_versions text[];
  v_missing text[];
  v_edge_runs bigint[];
  v_edge_deps bigint[];
BEGIN
  -- Plans. For a few runs, generic plans: planning a custom plan per call cost more than the
  -- call itself (one logRun ~2.4 -> ~1.8 ms on PostgreSQL). For a batch, the planner's own
  -- choice: forced generic plans halved a 500-run batch's throughput, and forced custom plans
  -- cost a third of it on PGlite, where planning is slow (interleaved A/B runs against the
  -- four-statement path, see bench/results/store.md). For this call only: the caller's mode is
  -- restored before returning.
  PERFORM set_config('plan_cache_mode',
    CASE WHEN json_array_length(p_runs) <= 8 THEN 'force_generic_plan' ELSE 'auto' END, true);

  -- 1. Components and runs. A terminal status is never overwritten by a late 'running' or
  -- 'pending' (retried or spooled writes). The components' foreign key is checked at the end of
  -- the statement, so the runs see the components inserted beside them. Inference and staleness
  -- use the start as stored: a re-logged run keeps its earliest start.
  WITH src AS MATERIALIZED (
    SELECT * FROM ROWS FROM (json_to_recordset(p_runs) AS (run_key text, component text, source text,
        status text, started_at timestamptz, ended_at timestamptz, attempt int, git_commit text,
        code_hash text, code_snapshot text, error_message text, error_type text, notes text,
        namespace text, workflow_id text, workflow_run_id text, workflow_type text, task_queue text,
        parent_workflow_id text, root_workflow_id text, metadata jsonb, infer boolean))
      WITH ORDINALITY AS r(run_key, component, source, status, started_at, ended_at, attempt,
        git_commit, code_hash, code_snapshot, error_message, error_type, notes, namespace,
        workflow_id, workflow_run_id, workflow_type, task_queue, parent_workflow_id,
        root_workflow_id, metadata, infer, ord)
  ),
  new_components AS (
    INSERT INTO components (name) SELECT DISTINCT component FROM src ON CONFLICT (name) DO NOTHING
  ),
  written AS (
    INSERT INTO component_runs (run_key, component, source, status, started_at, ended_at, attempt,
      git_commit, code_hash, code_snapshot, error_message, error_type, notes, namespace, workflow_id,
      workflow_run_id, workflow_type, task_queue, parent_workflow_id, root_workflow_id, metadata)
    SELECT run_key, component, source, status, started_at, ended_at, attempt, git_commit, code_hash,
      code_snapshot, error_message, error_type, coalesce(notes, ''), namespace, workflow_id,
      workflow_run_id, workflow_type, task_queue, parent_workflow_id, root_workflow_id,
      coalesce(metadata, '{}')
    FROM src
    ORDER BY ord
    ON CONFLICT (run_key) DO UPDATE SET
      component = excluded.component,
      source = excluded.source,
      status = CASE WHEN component_runs.status IN ('succeeded', 'failed', 'cancelled')
                     AND excluded.status IN ('running', 'pending')
                    THEN component_runs.status ELSE excluded.status END,
      started_at = least(component_runs.started_at, excluded.started_at),
      ended_at = coalesce(excluded.ended_at, component_runs.ended_at),
      attempt = coalesce(excluded.attempt, component_runs.attempt),
      git_commit = coalesce(excluded.git_commit, component_runs.git_commit),
      code_hash = coalesce(excluded.code_hash, component_runs.code_hash),
      code_snapshot = coalesce(excluded.code_snapshot, component_runs.code_snapshot),
      error_message = coalesce(excluded.error_message, component_runs.error_message),
      error_type = coalesce(excluded.error_type, component_runs.error_type),
      notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE component_runs.notes END,
      namespace = coalesce(excluded.namespace, component_runs.namespace),
      workflow_id = coalesce(excluded.workflow_id, component_runs.workflow_id),
      workflow_run_id = coalesce(excluded.workflow_run_id, component_runs.workflow_run_id),
      workflow_type = coalesce(excluded.workflow_type, component_runs.workflow_type),
      task_queue = coalesce(excluded.task_queue, component_runs.task_queue),
      parent_workflow_id = coalesce(excluded.parent_workflow_id, component_runs.parent_workflow_id),
      root_workflow_id = coalesce(excluded.root_workflow_id, component_runs.root_workflow_id),
      metadata = component_runs.metadata || excluded.metadata,
      logged_at = now()
    RETURNING id, run_key, (xmax = 0) AS created, started_at
  )
  SELECT array_agg(w.id ORDER BY s.ord), array_agg(w.created ORDER BY s.ord),
    array_agg(w.started_at ORDER BY s.ord), array_agg(coalesce(s.infer, true) ORDER BY s.ord)
  INTO v_ids, v_created, v_started, v_infer
  FROM written w JOIN src s USING (run_key);
  IF v_ids IS NULL THEN
    PERFORM set_config('plan_cache_mode', v_plan_mode, true);
    RETURN json_build_object('ids', '[]'::json, 'created', '[]'::json);
  END IF;

  -- 2. Pointers: insert the new ones, then read every id. The read is a statement of its own, so
  -- it also sees a pointer another writer committed while the insert waited on it.
  IF p_pointers IS NOT NULL AND json_array_length(p_pointers) > 0 THEN
    INSERT INTO io_pointers (uri, version, type)
    SELECT uri, version, type FROM json_to_recordset(p_pointers) AS p(uri text, version text, type text)
    ORDER BY uri, version
    ON CONFLICT (uri, version) DO NOTHING;
    SELECT array_agg(q.id ORDER BY p.ord), array_agg(p.uri ORDER BY p.ord), array_agg(p.version ORDER BY p.ord)
    INTO v_pointer_ids, v_uris, v_versions
    FROM ROWS FROM (json_to_recordset(p_pointers) AS (uri text, version text))
      WITH ORDINALITY AS p(uri, version, ord)
    LEFT JOIN LATERAL (
      SELECT id FROM io_pointers q WHERE q.uri = p.uri AND q.version = p.version OFFSET 0) q ON true;
    IF array_position(v_pointer_ids, NULL) IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'ML002',
        MESSAGE = format('could not insert or read %s pointer(s), e.g. %s@%s: were they deleted meanwhile?',
          cardinality(array_positions(v_pointer_ids, NULL)),
          v_uris[array_position(v_pointer_ids, NULL)], v_versions[array_position(v_pointer_ids, NULL)]),
        HINT = 'retry the write';
    END IF;
  END IF;

  -- 3. Outputs. A consumer logged before its producer (two workers, a spool replayed late,
  -- bridges synced out of order) is linked when the producer arrives, if it has no producer for
  -- that URI yet: the inference rules run backwards (same version, or either version unknown),
  -- and only a producer that started no later than the consumer. Adding a missing edge is not
  -- rewiring: edges already made stay frozen. (The first such producer to arrive wins.)
  IF p_outputs IS NOT NULL AND json_array_length(p_outputs) > 0 THEN
    WITH output_links AS MATERIALIZED (
      SELECT v_ids[l.r] AS run_id, v_pointer_ids[l.p] AS pointer_id, v_uris[l.p] AS uri,
        v_versions[l.p] AS version, v_started[l.r] AS started_at
      FROM json_to_recordset(p_outputs) AS l(r int, p int)
    ),
    new_outputs AS (
      INSERT INTO run_outputs (run_id, pointer_id)
      SELECT run_id, pointer_id FROM output_links
      ON CONFLICT DO NOTHING
      RETURNING run_id, pointer_id
    )
    INSERT INTO run_dependencies (run_id, depends_on_run_id)
    SELECT DISTINCT ON (c.run_id, c.pointer_id) c.run_id, o.run_id
    FROM new_outputs n
    JOIN output_links o ON o.run_id = n.run_id AND o.pointer_id = n.pointer_id
    CROSS JOIN LATERAL (
      SELECT q.id FROM io_pointers q
      WHERE q.uri = o.uri AND (q.version = o.version OR q.version = '' OR o.version = '') OFFSET 0) q
    CROSS JOIN LATERAL (SELECT * FROM run_inputs c WHERE c.pointer_id = q.id OFFSET 0) c
    CROSS JOIN LATERAL (SELECT started_at FROM component_runs cr WHERE cr.id = c.run_id OFFSET 0) cr
    WHERE c.run_id <> o.run_id AND o.started_at <= cr.started_at
      AND NOT EXISTS (
        SELECT 1 FROM run_dependencies d
        JOIN run_outputs o2 ON o2.run_id = d.depends_on_run_id
        JOIN io_pointers p2 ON p2.id = o2.pointer_id
        WHERE d.run_id = c.run_id AND p2.uri = o.uri)
    ORDER BY c.run_id, c.pointer_id, o.started_at DESC, o.run_id DESC
    ON CONFLICT DO NOTHING;
  END IF;

  IF p_depends_on IS NOT NULL AND json_array_length(p_depends_on) > 0 THEN
    SELECT array_agg(DISTINCT e.key) INTO v_missing
    FROM json_to_recordset(p_depends_on) AS e(r int, key text)
    WHERE NOT EXISTS (SELECT 1 FROM component_runs WHERE run_key = e.key);
    IF v_missing IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'ML001',
        MESSAGE = 'dependsOn names runs that do not exist: ' || array_to_string(v_missing[1:5], ', '),
        HINT = 'log the upstream run first, or drop it from dependsOn';
    END IF;
  ELSIF p_inputs IS NULL OR json_array_length(p_inputs) = 0 THEN
    PERFORM set_config('plan_cache_mode', v_plan_mode, true);
    RETURN json_build_object('ids', to_json(v_ids), 'created', to_json(v_created));
  END IF;

  -- 4. Inputs. Only inputs new to a run get a dependency: edges once inferred are frozen. The
  -- producer of an input: of that exact (uri, version) when the version is known, else of the
  -- uri at an unknown version; for an input of unknown version, of any version. Always the latest
  -- that started no later than the consumer, and never the consumer itself. Then explicit
  -- dependencies (by run key).
  WITH input_links AS MATERIALIZED (
    SELECT v_ids[l.r] AS run_id, v_pointer_ids[l.p] AS pointer_id, v_uris[l.p] AS uri,
      v_versions[l.p] AS version, v_started[l.r] AS started_at, v_infer[l.r] AS infer
    FROM json_to_recordset(p_inputs) AS l(r int, p int)
  ),
  new_inputs AS (
    INSERT INTO run_inputs (run_id, pointer_id)
    SELECT run_id, pointer_id FROM input_links
    ON CONFLICT DO NOTHING RETURNING run_id, pointer_id
  ),
  candidates AS (
    SELECT n.run_id, prod.id AS depends_on_run_id
    FROM (SELECT l.* FROM new_inputs i
          JOIN input_links l ON l.run_id = i.run_id AND l.pointer_id = i.pointer_id
          WHERE l.infer) n
    CROSS JOIN LATERAL (
      SELECT coalesce(
        CASE WHEN n.version <> '' THEN (
          SELECT pr.id
          FROM (SELECT o.run_id FROM run_outputs o WHERE o.pointer_id = n.pointer_id OFFSET 0) o
          CROSS JOIN LATERAL (SELECT id, started_at FROM component_runs pr WHERE pr.id = o.run_id OFFSET 0) pr
          WHERE pr.id <> n.run_id AND pr.started_at <= n.started_at
          ORDER BY pr.started_at DESC, pr.id DESC LIMIT 1)
        END,
        (SELECT pr.id
         FROM (SELECT o.run_id FROM io_pointers q JOIN run_outputs o ON o.pointer_id = q.id
               WHERE q.uri = n.uri AND (n.version = '' OR q.version = '') OFFSET 0) o
         CROSS JOIN LATERAL (SELECT id, started_at FROM component_runs pr WHERE pr.id = o.run_id OFFSET 0) pr
         WHERE pr.id <> n.run_id AND pr.started_at <= n.started_at
         ORDER BY pr.started_at DESC, pr.id DESC LIMIT 1)
      ) AS id
    ) prod
    WHERE prod.id IS NOT NULL
    UNION
    SELECT v_ids[e.r], pr.id
    FROM json_to_recordset(p_depends_on) AS e(r int, key text)
    CROSS JOIN LATERAL (SELECT id FROM component_runs pr WHERE pr.run_key = e.key OFFSET 0) pr
    WHERE pr.id <> v_ids[e.r]
  ),
  inserted AS (
    INSERT INTO run_dependencies (run_id, depends_on_run_id)
    SELECT DISTINCT run_id, depends_on_run_id FROM candidates
    ON CONFLICT DO NOTHING
    RETURNING run_id, depends_on_run_id
  )
  SELECT array_agg(run_id), array_agg(depends_on_run_id) INTO v_edge_runs, v_edge_deps FROM inserted;

  -- 5. Staleness of the edges just made.
  IF v_edge_runs IS NOT NULL THEN
    PERFORM mltrace_mark_stale(v_edge_runs, v_edge_deps, p_staleness_ms);
  END IF;
  PERFORM set_config('plan_cache_mode', v_plan_mode, true);
  RETURN json_build_object('ids', to_json(v_ids), 'created', to_json(v_created));
END
$$;
