-- mltrace for Temporal: the lineage store.
-- Sized for 10^7 runs: every lookup the store makes is served by an index below.

CREATE TABLE components (
  name        text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  owner       text NOT NULL DEFAULT '',
  tags        text[] NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX components_tags_idx ON components USING gin (tags);

CREATE TABLE component_runs (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_key            text NOT NULL UNIQUE,
  component          text NOT NULL REFERENCES components (name) ON UPDATE CASCADE,
  source             text NOT NULL,
  status             text NOT NULL,
  started_at         timestamptz NOT NULL,
  ended_at           timestamptz,
  attempt            integer,
  git_commit         text,
  code_hash          text,
  code_snapshot      text,
  error_message      text,
  error_type         text,
  notes              text NOT NULL DEFAULT '',
  stale              text[] NOT NULL DEFAULT '{}',
  namespace          text,
  workflow_id        text,
  workflow_run_id    text,
  workflow_type      text,
  task_queue         text,
  parent_workflow_id text,
  root_workflow_id   text,
  metadata           jsonb NOT NULL DEFAULT '{}',
  logged_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT component_runs_status_check
    CHECK (status IN ('running', 'pending', 'succeeded', 'failed', 'cancelled'))
);
CREATE INDEX component_runs_component_started_idx ON component_runs (component, started_at DESC, id DESC);
CREATE INDEX component_runs_started_idx ON component_runs (started_at DESC, id DESC);
CREATE INDEX component_runs_workflow_idx ON component_runs (workflow_id) WHERE workflow_id IS NOT NULL;

CREATE TABLE io_pointers (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  uri        text NOT NULL,
  version    text NOT NULL DEFAULT '',
  type       text NOT NULL,
  flag       boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT io_pointers_uri_version_key UNIQUE (uri, version)
);
CREATE INDEX io_pointers_flagged_idx ON io_pointers (id) WHERE flag;

CREATE TABLE run_inputs (
  run_id     bigint NOT NULL REFERENCES component_runs (id) ON DELETE CASCADE,
  pointer_id bigint NOT NULL REFERENCES io_pointers (id),
  PRIMARY KEY (run_id, pointer_id)
);
CREATE INDEX run_inputs_pointer_idx ON run_inputs (pointer_id, run_id);

CREATE TABLE run_outputs (
  run_id     bigint NOT NULL REFERENCES component_runs (id) ON DELETE CASCADE,
  pointer_id bigint NOT NULL REFERENCES io_pointers (id),
  PRIMARY KEY (run_id, pointer_id)
);
CREATE INDEX run_outputs_pointer_idx ON run_outputs (pointer_id, run_id);

-- Frozen at write time, as in mltrace: a later upstream re-run never rewires older runs.
CREATE TABLE run_dependencies (
  run_id            bigint NOT NULL REFERENCES component_runs (id) ON DELETE CASCADE,
  depends_on_run_id bigint NOT NULL REFERENCES component_runs (id) ON DELETE CASCADE,
  PRIMARY KEY (run_id, depends_on_run_id),
  CONSTRAINT run_dependencies_no_self CHECK (run_id <> depends_on_run_id)
);
CREATE INDEX run_dependencies_reverse_idx ON run_dependencies (depends_on_run_id, run_id);

-- One cursor per bridge source (a DVC repo, an MLflow server).
CREATE TABLE sync_state (
  source     text PRIMARY KEY,
  state      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
