/**
 * `@mltrace/retraining/explain`: "why is this model in production?" from the lineage store: the
 * current holder of an alias (`models:/NAME@ALIAS`), the promotion decision that put it there
 * with its reasons, the evaluation it won, the training run, and the data version and git commit
 * it was trained on. Behind `mltrace why models:/NAME@ALIAS` and `mltrace promotions [MODEL]`.
 * A narrow entry point: it loads neither Temporal nor DVC, so a CLI can import it cheaply.
 *
 * @example
 * ```ts
 * import { explainAlias, formatExplanation } from '@mltrace/retraining/explain';
 * process.stdout.write(formatExplanation(await explainAlias({ store, uri: 'models:/taxi-tip@champion' })));
 * ```
 * @module
 */
import {
  experimentLabel,
  InvalidInputError,
  type IOPointer,
  NotFoundError,
  type PromotionDecision,
  renderTree,
  runExperiment,
  type TreeNodeView,
} from '@mltrace/core';
import type { MlflowClient } from '@mltrace/mlflow';
import type { LineageGraph, LineageStore, Promotion, RunSummary } from '@mltrace/store';
import { formatMetric, type Metrics, promotes } from './policy.js';

/** A run of the chain, as shown. */
export interface ChainRun {
  id: number;
  runKey: string;
  component: string;
  source: string;
  status: string;
  startedAt: Date;
  gitCommit: string | null;
  /** Distance from the alias's promotion, in dependency edges. */
  depth: number;
  outputs: string[];
  /** The runs of the chain it depends on (by id). */
  dependsOn: number[];
  /** For a run of an experiment (`dvc exp run`): `experiment lr05 on 1a2b3c4d[, committed in …]`. */
  experiment?: string;
}

/** The data version a model was trained on. */
export interface TrainingDataVersion {
  /** `file:///…` of the DVC-tracked file. */
  uri: string;
  /** DVC md5. */
  version: string;
  /** The git commit of the data repository that recorded this version, when known. */
  commit: string | null;
  /** The run that recorded it (`dvc add …`, a DVC stage, the pin step). */
  recordedBy: string | null;
}

/** What {@link explainAlias} finds. */
export interface AliasExplanation {
  uri: string;
  model: string;
  alias: string;
  /** The version holding the alias (by MLflow when a client is given, else by the latest recorded promotion). */
  version: string | null;
  /** Where `version` comes from. */
  versionSource: 'mlflow' | 'lineage' | 'none';
  /** The decision that promoted it. */
  decision: PromotionDecision | null;
  /** The metrics the decision weighed. */
  evaluation: { candidate: Metrics; champion: Metrics | null } | null;
  /** The training run (`runs:/<id>/…`, or the MLflow run synced by `mltrace sync mlflow`) and its ComponentRun. */
  training: {
    mlflowRunId: string | null;
    run: ChainRun;
    /** Params and latest metrics, when the run is a synced MLflow run. */
    params?: Record<string, string>;
    metrics?: Record<string, number>;
    /** The run's dataset inputs (URI, MLflow digest), when the run is a synced MLflow run. */
    datasets?: Array<{ name: string; uri: string; digest: string; context: string }>;
  } | null;
  /**
   * The MLflow 3 LoggedModel the version was registered from (`models:/m-<id>`), with its own
   * params and metrics (and the datasets they were computed on), when synced from MLflow.
   */
  loggedModel: {
    modelId: string;
    name: string;
    modelType: string;
    sourceRunId: string;
    params: Record<string, string>;
    metrics: Array<{ key: string; value: number; step: number; dataset?: string; datasetDigest?: string }>;
  } | null;
  /** The version's and the registered model's tags, as last synced from MLflow. */
  tags: { version: Record<string, string>; model: Record<string, string> } | null;
  /** The registry move that put the version there, when synced from MLflow (no decision recorded). */
  registryMove: {
    action: string;
    previousVersion: string | null;
    detectedAt: string | null;
    runId: number;
  } | null;
  /** The data version(s) the chain starts from. */
  data: TrainingDataVersion[];
  /** Every run of the trace, nearest first. */
  chain: ChainRun[];
  /** Links of the chain that were not found (empty when complete). */
  missing: string[];
}

/** Options of {@link explainAlias}. */
export interface ExplainAliasOptions {
  store: LineageStore;
  /** `models:/NAME@ALIAS`. */
  uri: string;
  /** Read the current holder from MLflow (the source of truth); else from the lineage. */
  mlflow?: MlflowClient;
}

/** Splits `models:/NAME@ALIAS`. @throws {InvalidInputError} */
export function parseAliasUri(uri: string): { model: string; alias: string } {
  const match = /^models:\/([^@]+)@([\w-]+)$/i.exec(uri.trim());
  if (!match) {
    throw new InvalidInputError(`${uri} is not a model alias URI`, {
      hint: 'use models:/NAME@ALIAS, e.g. models:/taxi-tip@champion',
    });
  }
  return { model: match[1]!, alias: match[2]! };
}

function chainRun(run: RunSummary & { depth: number }): ChainRun {
  const experiment = runExperiment(run.metadata);
  return {
    ...(experiment ? { experiment: experimentLabel(experiment) } : {}),
    id: run.id,
    runKey: run.runKey,
    component: run.component,
    source: run.source,
    status: run.status,
    startedAt: run.startedAt,
    gitCommit: run.gitCommit,
    depth: run.depth,
    outputs: run.outputs.map((p) => (p.version ? `${p.uri}@${p.version}` : p.uri)),
    dependsOn: [...run.dependsOn],
  };
}

/**
 * The chain as a tree that reads as the graph: each run under the run that depends on it, newest
 * dependency first; a run reached a second time (a shared ancestor, e.g. the data version both the
 * cleaning and the pin step read) is printed once and then referenced, never shown as the child
 * of whichever run happened to come before it.
 */
export function chainTree(chain: ChainRun[]): string[] {
  const byId = new Map(chain.map((run) => [run.id, run]));
  const seen = new Set<number>();
  const label = (run: ChainRun) => {
    const outputs = run.outputs.length > 0 ? ` -> ${run.outputs.join(', ')}` : '';
    return `${run.component} #${run.id} [${run.source}, ${run.status}${run.experiment ? `, ${run.experiment}` : ''}]${outputs}`;
  };
  const expand = (run: ChainRun): TreeNodeView<ChainRun> => {
    if (seen.has(run.id)) return { label: `${run.component} #${run.id} (see above)` };
    seen.add(run.id);
    const children = [...new Set(run.dependsOn)].sort((a, b) => b - a).flatMap((id) => byId.get(id) ?? []);
    return { label: label(run), children };
  };
  const roots = chain.filter((run) => run.depth === 0).sort((a, b) => b.id - a.id);
  const lines = renderTree(roots, expand);
  // Runs no root reaches (a walk cut short): listed, not lost.
  for (const run of chain) if (!seen.has(run.id)) lines.push(...renderTree([run], expand));
  return lines;
}

const DVC_MD5 = /^[0-9a-f]{32}$/;

function dataVersions(graph: LineageGraph): TrainingDataVersion[] {
  // The DVC data versions: outputs of DVC runs, and the inputs the pin step declared.
  const byKey = new Map<string, TrainingDataVersion>();
  const producers = new Map<number, RunSummary>();
  for (const run of graph.runs) for (const p of run.outputs) producers.set(p.id, run);
  for (const run of graph.runs) {
    const candidates: IOPointer[] =
      run.source === 'dvc' ? run.outputs : run.component === 'pin-data' ? run.inputs : [];
    for (const p of candidates) {
      if (!DVC_MD5.test(p.version) || !p.uri.startsWith('file:')) continue;
      const key = `${p.uri}@${p.version}`;
      const recorder = run.source === 'dvc' ? run : producers.get(p.id);
      const dvcMeta = (run.metadata as { dvc?: { commit?: string } }).dvc;
      const existing = byKey.get(key);
      const entry: TrainingDataVersion = {
        uri: p.uri,
        version: p.version,
        commit:
          recorder?.source === 'dvc' ? recorder.gitCommit : (dvcMeta?.commit ?? existing?.commit ?? null),
        recordedBy: recorder ? recorder.component : (existing?.recordedBy ?? null),
      };
      if (
        !existing ||
        (existing.recordedBy === null && entry.recordedBy !== null) ||
        (!existing.commit && entry.commit)
      ) {
        byKey.set(key, entry);
      }
    }
  }
  return [...byKey.values()];
}

/**
 * Explains the current holder of an alias from the lineage store: the decision (with reasons),
 * the evaluation, the training run and the data version with its git commit. `missing` lists the
 * links not found, so an incomplete lineage is visible rather than silently short.
 *
 * @throws {InvalidInputError} for a URI that is not `models:/NAME@ALIAS`
 * @throws {NotFoundError} when neither MLflow nor the lineage knows the alias
 */
export async function explainAlias(options: ExplainAliasOptions): Promise<AliasExplanation> {
  const { model, alias } = parseAliasUri(options.uri);
  const uri = `models:/${model}@${alias}`;
  let version: string | null = null;
  let versionSource: AliasExplanation['versionSource'] = 'none';
  if (options.mlflow) {
    try {
      version = (await options.mlflow.getModelVersionByAlias(model, alias)).version;
      versionSource = 'mlflow';
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status !== 400 && status !== 404) throw error;
    }
  }
  let graph: LineageGraph | undefined;
  try {
    graph = await options.store.trace(version ? { uri, version } : { uri });
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  if (!version && graph) {
    const top = graph.runs.find((r) => r.depth === 0);
    version = top?.outputs.find((p) => p.uri === uri)?.version || null;
    if (version) versionSource = 'lineage';
  }
  const decisions = await options.store.promotions({ model, alias, limit: 200 });
  if (!version && !graph && decisions.length === 0) {
    throw new NotFoundError(`nothing is known about ${uri}`, {
      hint: 'run the retraining workflow (or `mltrace sync mlflow`) first; check the model and alias names',
    });
  }
  const missing: string[] = [];
  if (!version) missing.push(`no version holds ${uri}`);
  const decision =
    decisions.find(
      (d) => d.candidate === version && promotes(d.decision as Parameters<typeof promotes>[0]),
    ) ?? null;
  if (version && !decision && !(graph?.runs[0]?.source === 'mlflow' && graph.runs[0].component === 'promote'))
    missing.push(`no recorded promotion decision put version ${version} there`);
  const chain = graph ? graph.runs.map(chainRun) : [];
  if (!graph && version) missing.push(`no run in the lineage produced ${uri}@${version}`);
  const metrics = decision?.metrics as { candidate?: Metrics; champion?: Metrics | null } | undefined;
  const evaluation = metrics?.candidate
    ? { candidate: metrics.candidate, champion: metrics.champion ?? null }
    : null;
  if (decision && !evaluation) missing.push('the decision recorded no evaluation');
  let training: AliasExplanation['training'] = null;
  let registryMove: AliasExplanation['registryMove'] = null;
  const top = graph?.runs.find((r) => r.depth === 0);
  const move = top?.metadata as {
    kind?: string;
    action?: string;
    previousVersion?: string | null;
    detectedAt?: string;
  };
  if (top && top.source === 'mlflow' && top.component === 'promote' && move?.kind === 'alias') {
    registryMove = {
      action: move.action ?? 'set',
      previousVersion: move.previousVersion ?? null,
      detectedAt: move.detectedAt ?? null,
      runId: top.id,
    };
  }
  if (graph) {
    const synced = graph.runs.find(
      (r) => r.source === 'mlflow' && (r.metadata as { kind?: string }).kind === 'training',
    );
    const train =
      graph.runs.find((r) => r.component === 'train') ??
      graph.runs.find((r) => r.outputs.some((p) => p.uri.startsWith('runs:/')));
    if (!train && synced) {
      const m = synced.metadata as {
        runId?: string;
        params?: Record<string, string>;
        metrics?: Record<string, number>;
        datasets?: Array<{ name: string; uri: string; digest: string; context: string }>;
      };
      training = {
        mlflowRunId: m.runId ?? null,
        run: chainRun(synced),
        params: m.params ?? {},
        metrics: m.metrics ?? {},
        datasets: m.datasets ?? [],
      };
    } else if (train) {
      const runUri = train.outputs.find((p) => p.uri.startsWith('runs:/'))?.uri;
      training = { mlflowRunId: runUri ? (runUri.split('/')[1] ?? null) : null, run: chainRun(train) };
    } else {
      missing.push('no training run in the trace');
    }
  }
  let loggedModel: AliasExplanation['loggedModel'] = null;
  let tags: AliasExplanation['tags'] = null;
  const register = graph?.runs.find(
    (r) =>
      r.source === 'mlflow' &&
      r.component === 'register' &&
      (r.metadata as { model?: string }).model === model &&
      (r.metadata as { version?: string }).version === version,
  );
  if (register) {
    const m = register.metadata as {
      loggedModel?: AliasExplanation['loggedModel'];
      versionTags?: Record<string, string>;
      modelTags?: Record<string, string>;
    };
    if (m.loggedModel) loggedModel = m.loggedModel;
    if (m.versionTags || m.modelTags) tags = { version: m.versionTags ?? {}, model: m.modelTags ?? {} };
  }
  const data = graph ? dataVersions(graph) : [];
  if (graph && data.length === 0 && !training?.datasets?.length)
    missing.push('no DVC data version in the trace');
  if (data.length > 0 && data.every((d) => !d.commit))
    missing.push('no git commit recorded for the data version');
  return {
    uri,
    model,
    alias,
    version,
    versionSource,
    decision,
    registryMove,
    loggedModel,
    tags,
    evaluation,
    training,
    data,
    chain,
    missing,
  };
}

function line(label: string, value: string): string {
  return `  ${label.padEnd(12)} ${value}`;
}

function metricsLine(metrics: Metrics): string {
  return Object.keys(metrics)
    .sort()
    .map((name) => `${name} ${formatMetric(metrics[name]!)}`)
    .join(', ');
}

/** The text form of an {@link AliasExplanation} (what `mltrace why` prints). */
export function formatExplanation(explanation: AliasExplanation): string {
  const out: string[] = [];
  const e = explanation;
  out.push(
    e.version
      ? `${e.uri} is version ${e.version}${e.versionSource === 'mlflow' ? ' (per MLflow)' : ''}`
      : `${e.uri} points at no version`,
  );
  if (e.tags) {
    const kv = (record: Record<string, string>) =>
      Object.keys(record)
        .sort()
        .map((k) => `${k}=${record[k]}`)
        .join(', ');
    if (Object.keys(e.tags.version).length > 0) out.push(line('version tags', kv(e.tags.version)));
    if (Object.keys(e.tags.model).length > 0) out.push(line('model tags', kv(e.tags.model)));
  }
  if (e.decision) {
    const d = e.decision;
    out.push(
      '',
      `Decision: ${d.decision} on ${d.decidedAt.toISOString()} (replacing ${d.previousChampion ? `version ${d.previousChampion}` : 'no champion'})`,
    );
    if (d.approver) out.push(line('approver', `${d.approver}: ${d.approvalComment ?? ''}`));
    out.push('  Reasons:');
    for (const reason of d.reasons) out.push(`    - ${reason}`);
  }
  if (!e.decision && e.registryMove) {
    const r = e.registryMove;
    const what =
      r.action === 'moved'
        ? `moved from version ${r.previousVersion} to ${e.version}`
        : `${r.action} to version ${e.version}`;
    out.push('', `Promotion: alias ${what} in the MLflow registry (no recorded reason)`);
    out.push(line('detected', r.detectedAt ?? '(unknown)'));
    out.push(line('who', '(MLflow does not record who moves an alias)'));
    out.push(line('run', `promote #${r.runId} (mltrace inspect ${r.runId})`));
  }
  if (e.evaluation) {
    out.push('', 'Evaluation:');
    out.push(line('candidate', metricsLine(e.evaluation.candidate)));
    if (e.evaluation.champion) out.push(line('champion', metricsLine(e.evaluation.champion)));
  }
  if (e.training) {
    out.push('', 'Training:');
    out.push(line('MLflow run', e.training.mlflowRunId ?? '(unknown)'));
    out.push(
      line(
        'run',
        `${e.training.run.component} #${e.training.run.id} ${e.training.run.startedAt.toISOString()}${e.training.run.experiment ? ` (${e.training.run.experiment})` : ''}`,
      ),
    );
    if (e.training.run.gitCommit) out.push(line('code commit', e.training.run.gitCommit));
    const kv = (record: Record<string, unknown>) =>
      Object.keys(record)
        .sort()
        .map((k) => `${k}=${String(record[k])}`)
        .join(', ');
    if (e.training.params && Object.keys(e.training.params).length > 0)
      out.push(line('params', kv(e.training.params)));
    if (e.training.metrics && Object.keys(e.training.metrics).length > 0)
      out.push(line('metrics', kv(e.training.metrics)));
    for (const d of e.training.datasets ?? [])
      out.push(
        line('dataset', `${d.name} (${d.context || 'input'}) ${d.uri} digest ${d.digest || '(none)'}`),
      );
  }
  if (e.loggedModel) {
    const lm = e.loggedModel;
    out.push('', 'Logged model:');
    out.push(
      line(
        'model',
        `models:/${lm.modelId}${lm.name ? ` (${lm.name}${lm.modelType ? `, ${lm.modelType}` : ''})` : ''}`,
      ),
    );
    out.push(line('logged by', lm.sourceRunId ? `MLflow run ${lm.sourceRunId}` : '(no run)'));
    const params = Object.keys(lm.params).sort();
    if (params.length > 0) out.push(line('params', params.map((k) => `${k}=${lm.params[k]}`).join(', ')));
    for (const m of lm.metrics)
      out.push(
        line(
          'metric',
          `${m.key}=${m.value}${m.dataset ? ` on dataset ${m.dataset} digest ${m.datasetDigest || '(none)'}` : ''}`,
        ),
      );
  }
  if (e.data.length > 0) {
    out.push('', 'Data:');
    for (const d of e.data) {
      out.push(line('version', `${d.uri}@${d.version}`));
      out.push(line('git commit', d.commit ?? '(unknown)'));
      if (d.recordedBy) out.push(line('recorded by', d.recordedBy));
    }
  }
  if (e.chain.length > 0) {
    out.push('', `Lineage (${e.chain.length} runs; each run under the one that used it, shared ones once):`);
    for (const line of chainTree(e.chain)) out.push(`  ${line}`);
  }
  if (e.missing.length > 0) {
    out.push('', 'Missing:');
    for (const m of e.missing) out.push(`  - ${m}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * The text form of a list of decisions, as `mltrace promotions` and the demo print it: one block
 * per decision with its reasons, the approver's comment and the run that decided.
 */
export function formatPromotions(decisions: PromotionDecision[]): string {
  if (decisions.length === 0) return 'no promotion decisions recorded\n';
  const blocks = decisions.map((d) => {
    const over = d.previousChampion ? `version ${d.previousChampion}` : 'no champion';
    const time = d.decidedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const lines = [
      `${time}  models:/${d.model}@${d.alias}  version ${d.candidate} over ${over}: ${d.decision}${
        d.approver ? ` by ${d.approver}` : ''
      }`,
    ];
    for (const reason of d.reasons) lines.push(`  - ${reason}`);
    if (d.approvalComment) lines.push(`  comment: ${d.approvalComment}`);
    if (d.runId !== null) lines.push(`  decided by run ${d.runId} (mltrace inspect ${d.runId})`);
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}

/**
 * The text form of a promotion timeline (`promotionTimeline` of `@mltrace/store`), as
 * `mltrace promotions` prints it, newest first: a retraining decision with its reasons, approver
 * and deciding run; a registry move synced from MLflow with from -> to, when, who, and either the
 * decision behind it or "no recorded reason".
 */
export function formatTimeline(entries: Promotion[]): string {
  if (entries.length === 0) return 'no promotions recorded\n';
  const time = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const blocks = entries.map((e) => {
    if (e.kind === 'decision') {
      const over = e.from.length > 0 ? `version ${e.from.join(', ')}` : 'no champion';
      const lines = [
        `${time(e.at)}  models:/${e.model}@${e.alias}  version ${e.to} over ${over}: ${e.action}${
          e.who ? ` by ${e.who}` : ''
        } (retraining decision ${e.decisionId})`,
      ];
      for (const reason of e.reasons) lines.push(`  - ${reason}`);
      if (e.reasons.length === 0) lines.push('  no recorded reason');
      if (e.approvalComment) lines.push(`  comment: ${e.approvalComment}`);
      if (e.runId !== null) lines.push(`  decided by run ${e.runId} (mltrace inspect ${e.runId})`);
      return lines.join('\n');
    }
    const where = e.kind === 'alias' ? `models:/${e.model}@${e.alias}` : `models:/${e.model}/${e.stage}`;
    const from = e.from.length > 0 ? `version ${e.from.join(', ')}` : 'none';
    const to = e.to === null ? 'none' : `version ${e.to}`;
    const lines = [
      `${time(e.at)}  ${where}  ${from} -> ${to}: ${e.kind === 'alias' ? `alias ${e.action}` : 'stage transition'} in the MLflow registry`,
      `  who: ${e.who ?? 'not recorded by MLflow'}`,
    ];
    if (e.detectedAt && e.kind === 'stage') lines.push(`  detected: ${time(e.detectedAt)}`);
    lines.push(
      e.decisionId !== null ? `  reason: see retraining decision ${e.decisionId}` : '  no recorded reason',
    );
    if (e.runId !== null) lines.push(`  synced as run ${e.runId} (mltrace inspect ${e.runId})`);
    return lines.join('\n');
  });
  return `${blocks.join('\n\n')}\n`;
}
