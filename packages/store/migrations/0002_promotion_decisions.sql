-- Model promotion decisions with their reasons, linked to the ComponentRun that made them.

CREATE TABLE promotion_decisions (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  decision_key      text NOT NULL UNIQUE,
  model             text NOT NULL,
  candidate         text NOT NULL,
  previous_champion text,
  alias             text NOT NULL DEFAULT 'champion',
  decision          text NOT NULL,
  policy            jsonb NOT NULL DEFAULT '{}',
  metrics           jsonb NOT NULL DEFAULT '{}',
  reasons           text[] NOT NULL DEFAULT '{}',
  approver          text,
  approval_comment  text,
  run_id            bigint REFERENCES component_runs (id) ON DELETE SET NULL,
  decided_at        timestamptz NOT NULL,
  CONSTRAINT promotion_decisions_decision_check CHECK (decision IN
    ('promote', 'reject', 'awaiting_approval', 'approved', 'rejected_by_person', 'timed_out'))
);
CREATE INDEX promotion_decisions_model_idx ON promotion_decisions (model, decided_at DESC, id DESC);
CREATE INDEX promotion_decisions_run_idx ON promotion_decisions (run_id) WHERE run_id IS NOT NULL;
