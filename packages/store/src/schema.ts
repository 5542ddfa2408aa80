/**
 * The drizzle schema of the lineage store. It mirrors the committed SQL migrations in
 * `migrations/` (the source of truth, applied on open); a test checks the two agree.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const components = pgTable(
  'components',
  {
    name: text('name').primaryKey(),
    description: text('description').notNull().default(''),
    owner: text('owner').notNull().default(''),
    tags: text('tags').array().notNull().default(sql`'{}'`),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('components_tags_idx').using('gin', t.tags)],
);

export const componentRuns = pgTable(
  'component_runs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runKey: text('run_key').notNull().unique(),
    component: text('component')
      .notNull()
      .references(() => components.name, { onUpdate: 'cascade' }),
    source: text('source').notNull(),
    status: text('status').notNull(),
    startedAt: ts('started_at').notNull(),
    endedAt: ts('ended_at'),
    attempt: integer('attempt'),
    gitCommit: text('git_commit'),
    codeHash: text('code_hash'),
    codeSnapshot: text('code_snapshot'),
    errorMessage: text('error_message'),
    errorType: text('error_type'),
    notes: text('notes').notNull().default(''),
    stale: text('stale').array().notNull().default(sql`'{}'`),
    namespace: text('namespace'),
    workflowId: text('workflow_id'),
    workflowRunId: text('workflow_run_id'),
    workflowType: text('workflow_type'),
    taskQueue: text('task_queue'),
    parentWorkflowId: text('parent_workflow_id'),
    rootWorkflowId: text('root_workflow_id'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    loggedAt: ts('logged_at').notNull().defaultNow(),
  },
  (t) => [
    index('component_runs_component_started_idx').on(t.component, t.startedAt.desc(), t.id.desc()),
    index('component_runs_started_idx').on(t.startedAt.desc(), t.id.desc()),
    index('component_runs_workflow_idx').on(t.workflowId).where(sql`workflow_id IS NOT NULL`),
    check(
      'component_runs_status_check',
      sql`status IN ('running', 'pending', 'succeeded', 'failed', 'cancelled')`,
    ),
  ],
);

export const ioPointers = pgTable(
  'io_pointers',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    uri: text('uri').notNull(),
    version: text('version').notNull().default(''),
    type: text('type').notNull(),
    flag: boolean('flag').notNull().default(false),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    unique('io_pointers_uri_version_key').on(t.uri, t.version),
    index('io_pointers_flagged_idx').on(t.id).where(sql`flag`),
  ],
);

const runPointer = (name: string) =>
  pgTable(
    name,
    {
      runId: bigint('run_id', { mode: 'number' })
        .notNull()
        .references(() => componentRuns.id, { onDelete: 'cascade' }),
      pointerId: bigint('pointer_id', { mode: 'number' })
        .notNull()
        .references(() => ioPointers.id),
    },
    (t) => [
      primaryKey({ columns: [t.runId, t.pointerId] }),
      index(`${name}_pointer_idx`).on(t.pointerId, t.runId),
    ],
  );

export const runInputs = runPointer('run_inputs');
export const runOutputs = runPointer('run_outputs');

export const runDependencies = pgTable(
  'run_dependencies',
  {
    runId: bigint('run_id', { mode: 'number' })
      .notNull()
      .references(() => componentRuns.id, { onDelete: 'cascade' }),
    dependsOnRunId: bigint('depends_on_run_id', { mode: 'number' })
      .notNull()
      .references(() => componentRuns.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.dependsOnRunId] }),
    index('run_dependencies_reverse_idx').on(t.dependsOnRunId, t.runId),
    check('run_dependencies_no_self', sql`run_id <> depends_on_run_id`),
  ],
);

export const syncState = pgTable('sync_state', {
  source: text('source').primaryKey(),
  state: jsonb('state').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const promotionDecisions = pgTable(
  'promotion_decisions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    decisionKey: text('decision_key').notNull().unique(),
    model: text('model').notNull(),
    candidate: text('candidate').notNull(),
    previousChampion: text('previous_champion'),
    alias: text('alias').notNull().default('champion'),
    decision: text('decision').notNull(),
    policy: jsonb('policy').$type<Record<string, unknown>>().notNull().default({}),
    metrics: jsonb('metrics').$type<Record<string, unknown>>().notNull().default({}),
    reasons: text('reasons').array().notNull().default(sql`'{}'`),
    approver: text('approver'),
    approvalComment: text('approval_comment'),
    runId: bigint('run_id', { mode: 'number' }).references(() => componentRuns.id, { onDelete: 'set null' }),
    decidedAt: ts('decided_at').notNull(),
  },
  (t) => [
    index('promotion_decisions_model_idx').on(t.model, t.decidedAt.desc(), t.id.desc()),
    index('promotion_decisions_run_idx').on(t.runId).where(sql`run_id IS NOT NULL`),
    check(
      'promotion_decisions_decision_check',
      sql`decision IN ('promote', 'reject', 'awaiting_approval', 'approved', 'rejected_by_person', 'timed_out')`,
    ),
  ],
);
