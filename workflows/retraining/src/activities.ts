/**
 * The retraining workflow's activities (Node side). Each is declared an mltrace component with
 * its input and output pointers, so that on a worker with the mltrace plugin every attempt is a
 * ComponentRun whose dependencies chain the whole run: `pin-data` (the DVC data version) ←
 * prepare steps ← `train` ← `register` ← `evaluate` ← `decide` ← `promote` (the alias).
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type ComponentRunInput, type Logger, type PointerInput, silentLogger } from '@mltrace/core';
import { resolveDvcPointer, syncDvc } from '@mltrace/dvc';
import { isMlflowError, type MlflowClient } from '@mltrace/mlflow';
import type { LineageStore } from '@mltrace/store';
import { addInput, addMetadata, component, runKeyOf } from '@mltrace/temporal';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { downloadArtifacts, ensureExperiment, logArtifact } from './artifacts.js';
import { fileDigest, localPathOf, materializeDvcVersion, readCsvFeatures } from './data.js';
import { driftReport, type FeatureColumns } from './drift.js';
import { runTrainingCommand } from './training-command.js';
import {
  type ChampionInfo,
  type DatasetRef,
  type DataVersion,
  decisionPointer,
  driftPointer,
  type EvaluateInput,
  type EvaluationResult,
  evaluationPointer,
  type ModelRef,
  modelAliasUri,
  modelVersionUri,
  type RecordDecisionInput,
  type RetrainingActivities,
  type StepContext,
  type TrainResult,
} from './types.js';

/** What the `train` and `evaluate` functions get besides their input. */
export interface StepHelpers {
  /** The MLflow client the activities use. */
  mlflow: MlflowClient;
  /** The experiment's id (created when missing). */
  experimentId(name: string): Promise<string>;
  /** Logs a local file into a run's artifacts; returns the artifact directory URI. */
  logArtifact(runId: string, localPath: string, artifactPath?: string): Promise<string>;
  /** Downloads a model version's files (once per version) and returns the local directory. */
  modelFiles(model: ModelRef): Promise<string>;
  /** A scratch directory for this step, under the work directory. */
  workDir(...parts: string[]): Promise<string>;
  /** Heartbeats (also done every `heartbeatIntervalMs` while the function runs). */
  heartbeat(details?: unknown): void;
  /** Aborted when the activity is cancelled (or the worker shuts down). */
  signal: AbortSignal;
  logger: Logger;
}

/** Options of {@link createRetrainingActivities}. */
export interface RetrainingActivitiesOptions {
  /** The lineage store (decisions and `decide` runs are written there), or a function opening it once. */
  store: LineageStore | (() => Promise<LineageStore>);
  /** The MLflow client (registry, runs, artifacts). */
  mlflow: MlflowClient;
  /** Where pinned data copies and downloaded models are kept. */
  workDir: string;
  /**
   * Trains a candidate: creates an MLflow run, logs the model under `artifactPath` (default
   * `model`), returns the run id. Used when the workflow input names no training activity or
   * command.
   */
  train?: (context: StepContext, helpers: StepHelpers) => Promise<TrainResult>;
  /** Evaluates one model (candidate or champion) on the run's data; returns its metrics. */
  evaluate?: (input: EvaluateInput, helpers: StepHelpers) => Promise<EvaluationResult>;
  /** Reads a dataset's feature columns for the drift check. @default numeric columns of a CSV file */
  readFeatures?: (dataset: DatasetRef) => Promise<FeatureColumns>;
  /** Sync the DVC repository's history into the store before pinning. @default true */
  syncDvc?: boolean;
  /** The `dvc` executable, used when a data version is not in the local cache. @default 'dvc' */
  dvcCommand?: string;
  /** How often long steps heartbeat. @default 5000 */
  heartbeatIntervalMs?: number;
  /** Environment of training commands and `dvc`. @default process.env */
  env?: Record<string, string | undefined>;
  /** @default silentLogger */
  logger?: Logger;
}

/**
 * Calls `fn` while heartbeating every `intervalMs`, or more often when the activity's heartbeat
 * timeout is short (a third of it), so a slow step between the function's own heartbeats never
 * times out.
 */
async function withHeartbeat<T>(intervalMs: number, fn: () => Promise<T>): Promise<T> {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    ctx = undefined;
  }
  const timeoutMs = ctx?.info.heartbeatTimeoutMs;
  const every = timeoutMs ? Math.max(100, Math.min(intervalMs, Math.floor(timeoutMs / 3))) : intervalMs;
  const timer = ctx ? setInterval(() => ctx?.heartbeat(), every) : undefined;
  try {
    return await fn();
  } finally {
    if (timer) clearInterval(timer);
  }
}

function fileUri(path: string): string {
  return path.startsWith('file:') ? path : `file://${path}`;
}

function currentSignal(): AbortSignal {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return new AbortController().signal;
  }
}

/**
 * Creates the activities of the retraining workflow. Register them on the worker (with the mltrace
 * plugin, so each attempt is traced) next to the user activities the workflow input names.
 *
 * @example
 * ```ts
 * const activities = createRetrainingActivities({ store, mlflow: new MlflowClient(), workDir: '.mltrace/work', train, evaluate });
 * const worker = await Worker.create({ connection, taskQueue, workflowsPath, activities, plugins: [createMltracePlugin({ store })] });
 * ```
 */
export function createRetrainingActivities(options: RetrainingActivitiesOptions): RetrainingActivities {
  const logger = options.logger ?? silentLogger;
  const mlflow = options.mlflow;
  const heartbeatMs = options.heartbeatIntervalMs ?? 5000;
  const env = options.env ?? process.env;
  let storePromise: Promise<LineageStore> | undefined;
  const store = () => {
    if (typeof options.store !== 'function') return Promise.resolve(options.store);
    storePromise ??= options.store().catch((error: unknown) => {
      storePromise = undefined;
      throw error;
    });
    return storePromise;
  };

  const helpers = (): StepHelpers => ({
    mlflow,
    experimentId: (name) => ensureExperiment(mlflow, name),
    async logArtifact(runId, localPath, artifactPath = 'model') {
      const run = await mlflow.getRun(runId);
      return logArtifact({ client: mlflow, artifactUri: run.info.artifactUri, localPath, artifactPath });
    },
    async modelFiles(model) {
      const dir = join(options.workDir, 'models', model.name, model.version);
      await mkdir(dir, { recursive: true });
      return downloadArtifacts({ client: mlflow, source: model.source, dir });
    },
    async workDir(...parts) {
      const dir = join(options.workDir, ...parts);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    heartbeat(details) {
      try {
        Context.current().heartbeat(details);
      } catch {
        // not in an activity
      }
    },
    signal: currentSignal(),
    logger,
  });

  const retrainingPinData = component(
    async function retrainingPinData(input: {
      repo: string;
      path: string;
      rev?: string;
    }): Promise<DataVersion> {
      const rev = input.rev ?? 'HEAD';
      if (options.syncDvc ?? true) {
        await syncDvc({ store: await store(), repo: input.repo, rev, logger });
      }
      const pointer = await resolveDvcPointer({ repo: input.repo, path: input.path, rev });
      const localPath = await materializeDvcVersion(pointer, {
        dir: join(options.workDir, 'data'),
        ...(options.dvcCommand ? { dvcCommand: options.dvcCommand } : {}),
        env,
      });
      addInput({ uri: pointer.uri, version: pointer.version, type: 'data' });
      addMetadata({
        dvc: { repo: pointer.repo, path: pointer.path, rev, commit: pointer.commit, md5: pointer.version },
      });
      return {
        uri: pointer.uri,
        version: pointer.version,
        repo: pointer.repo,
        path: pointer.path,
        rev,
        commit: pointer.commit,
        localPath,
        ...(pointer.size === undefined ? {} : { size: pointer.size }),
      };
    },
    {
      name: 'pin-data',
      inputs: () => [],
      outputs: (data) => [{ uri: fileUri(data.localPath), version: data.version, type: 'data' }],
    },
  );

  const retrainingFindChampion = component(
    async function retrainingFindChampion(input: {
      model: string;
      alias: string;
    }): Promise<ChampionInfo | null> {
      let version: Awaited<ReturnType<MlflowClient['getModelVersionByAlias']>>;
      try {
        version = await mlflow.getModelVersionByAlias(input.model, input.alias);
      } catch (error) {
        // An unknown alias is a 400, an unknown model a 404: no champion yet.
        if (isMlflowError(error) && (error.status === 400 || error.status === 404)) return null;
        throw error;
      }
      addInput({ uri: modelAliasUri(input.model, input.alias), version: version.version, type: 'model' });
      const trainingData: DatasetRef[] = [];
      if (version.runId) {
        const run = await mlflow.getRun(version.runId);
        for (const item of run.datasetInputs) {
          if ((item.tags['mlflow.data.context'] ?? 'training') !== 'training') continue;
          let uri = '';
          try {
            const source = JSON.parse(item.dataset.source) as { uri?: string };
            uri = source.uri ?? '';
          } catch {
            uri = '';
          }
          if (uri) trainingData.push({ name: item.dataset.name, uri, digest: item.dataset.digest });
        }
      }
      return {
        name: input.model,
        version: version.version,
        uri: modelVersionUri(input.model, version.version),
        source: version.source,
        runId: version.runId || null,
        alias: input.alias,
        trainingData,
      };
    },
    { name: 'find-champion', inputs: () => [], outputs: () => [] },
  );

  const retrainingCheckDrift = component(
    async function retrainingCheckDrift(input: Parameters<RetrainingActivities['retrainingCheckDrift']>[0]) {
      const readFeatures = options.readFeatures ?? readCsvFeatures;
      const digest = input.reference.digest;
      const algorithm = digest && /^[0-9a-f]{32}$/.test(digest) ? 'md5' : 'sha256';
      // A DVC version (md5) is read from its pinned copy: the working tree may hold another version.
      let referencePath = localPathOf(input.reference.uri);
      if (digest && algorithm === 'md5') {
        const pinned = join(options.workDir, 'data', digest, basename(referencePath));
        const matches = await fileDigest(pinned, 'md5').then(
          (d) => d === digest,
          () => false,
        );
        if (matches) referencePath = pinned;
      }
      if (digest) {
        const actual = await fileDigest(referencePath, algorithm).catch(() => undefined);
        if (actual !== digest) {
          throw ApplicationFailure.create({
            type: 'InvalidInputError',
            nonRetryable: true,
            message: `the champion's training data ${input.reference.uri} is not the version it was trained on (${algorithm} ${actual ?? 'unreadable'}, logged ${digest})`,
          });
        }
      }
      const currentDigest = input.current.digest ?? (await fileDigest(localPathOf(input.current.uri), 'md5'));
      addInput(
        { uri: fileUri(referencePath), ...(digest ? { version: digest } : {}), type: 'data' },
        { uri: fileUri(localPathOf(input.current.uri)), version: currentDigest, type: 'data' },
      );
      const [reference, current] = await Promise.all([
        readFeatures({ ...input.reference, uri: referencePath }),
        readFeatures(input.current),
      ]);
      const features = input.features ?? Object.keys(reference).filter((name) => name in current);
      return driftReport(reference, current, { features, thresholds: input.thresholds });
    },
    {
      name: 'drift',
      inputs: () => [],
      outputs: (_report, input) => [
        { ...driftPointer(input.model, input.dataVersion, input.championVersion), type: 'metric' },
      ],
    },
  );

  const retrainingTrain = component(
    async function retrainingTrain(input: Parameters<RetrainingActivities['retrainingTrain']>[0]) {
      const { context, training } = input;
      if (training.command && training.command.length > 0) {
        return withHeartbeat(heartbeatMs, () =>
          runTrainingCommand({
            command: training.command!,
            context,
            training,
            mlflow,
            env,
            signal: currentSignal(),
          }),
        );
      }
      if (!options.train) {
        throw ApplicationFailure.create({
          type: 'ConfigError',
          nonRetryable: true,
          message:
            'no training: give createRetrainingActivities a train function, or name a training activity or command in the workflow input',
        });
      }
      const train = options.train;
      return withHeartbeat(heartbeatMs, () => train(context, helpers()));
    },
    {
      name: 'train',
      inputs: (input) => [
        { uri: fileUri(input.context.data.localPath), version: input.context.data.version, type: 'data' },
        ...Object.values(input.context.outputs).map((path) => fileUri(path)),
      ],
      outputs: (result) => [
        { uri: `runs:/${result.runId}/${result.artifactPath ?? 'model'}`, type: 'model' },
      ],
    },
  );

  const retrainingRegister = component(
    async function retrainingRegister(input: Parameters<RetrainingActivities['retrainingRegister']>[0]) {
      const { model, training, data } = input;
      const artifactPath = training.artifactPath ?? 'model';
      const run = await mlflow.getRun(training.runId);
      // The data the candidate was trained on, as MLflow dataset inputs: the DVC version (the same
      // pointer the DVC bridge records) and the prepared datasets (the drift reference of later runs).
      const logged = new Set(run.datasetInputs.map((d) => `${d.dataset.name}\0${d.dataset.digest}`));
      const datasets = [
        { name: 'data', uri: data.uri, digest: data.version },
        ...(await Promise.all(
          input.datasets.map(async (d) => ({
            ...d,
            digest: d.digest ?? (await fileDigest(localPathOf(d.uri), 'md5')),
          })),
        )),
      ].filter((d) => !logged.has(`${d.name}\0${d.digest}`));
      if (datasets.length > 0) {
        await mlflow.logInputs(
          training.runId,
          datasets.map((d) => ({
            dataset: {
              name: d.name,
              digest: d.digest,
              sourceType: 'local',
              source: JSON.stringify({ uri: fileUri(localPathOf(d.uri)) }),
            },
            tags: { 'mlflow.data.context': 'training' },
          })),
        );
      }
      await mlflow.logBatch({
        runId: training.runId,
        tags: {
          'mltrace.data.uri': data.uri,
          'mltrace.data.version': data.version,
          'mltrace.data.commit': data.commit,
          'mltrace.data.rev': data.rev,
        },
      });
      for (const d of input.datasets) addInput({ uri: fileUri(localPathOf(d.uri)), type: 'data' });
      try {
        await mlflow.createRegisteredModel({
          name: model,
          description: 'Registered by the mltrace retraining workflow',
        });
      } catch (error) {
        if (!(isMlflowError(error) && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
      }
      // Idempotent across retries: a version of this run already registered is reused.
      const source = `${run.info.artifactUri.replace(/\/+$/, '')}/${artifactPath}`;
      const existing = (await mlflow.listVersionsOfModel(model)).find(
        (v) => v.runId === training.runId && v.source === source,
      );
      const version =
        existing ??
        (await mlflow.createModelVersion({
          name: model,
          source,
          runId: training.runId,
          tags: { ...input.tags, 'mltrace.data.version': data.version },
        }));
      return {
        name: model,
        version: version.version,
        uri: modelVersionUri(model, version.version),
        source: version.source || source,
        runId: training.runId,
      } satisfies ModelRef;
    },
    {
      name: 'register',
      inputs: (input) => [
        { uri: `runs:/${input.training.runId}/${input.training.artifactPath ?? 'model'}`, type: 'model' },
        { uri: input.data.uri, version: input.data.version, type: 'data' },
      ],
      outputs: (model) => [{ uri: model.uri, type: 'model' }],
    },
  );

  const retrainingEvaluate = component(
    async function retrainingEvaluate(input: EvaluateInput): Promise<EvaluationResult> {
      if (!options.evaluate) {
        throw ApplicationFailure.create({
          type: 'ConfigError',
          nonRetryable: true,
          message:
            'no evaluation: give createRetrainingActivities an evaluate function, or name an evaluation activity in the workflow input',
        });
      }
      const evaluate = options.evaluate;
      const result = await withHeartbeat(heartbeatMs, () => evaluate(input, helpers()));
      addMetadata({ role: input.role, metrics: result.metrics });
      return result;
    },
    {
      name: 'evaluate',
      inputs: (input) => [
        { uri: input.model.uri, type: 'model' },
        ...Object.values(input.context.outputs).map((path) => fileUri(path)),
      ],
      outputs: (_result, input) => [
        { ...evaluationPointer(input.model, input.context.data.version), type: 'metric' },
      ],
    },
  );

  const decideInputs = (input: RecordDecisionInput): PointerInput[] => [
    { uri: input.candidate.uri, type: 'model' },
    ...(input.champion ? [{ uri: input.champion.uri, type: 'model' as const }] : []),
    ...input.evidence.map((p) => ({ ...p, type: 'metric' as const })),
  ];

  const retrainingRecordDecision = component(
    async function retrainingRecordDecision(input: RecordDecisionInput) {
      const info = Context.current().info;
      const runKey = runKeyOf(info);
      const pointer = decisionPointer(input.decision);
      const lineage = await store();
      const decidedAt = new Date(input.decidedAt);
      const d = input.decision;
      // With the mltrace plugin recording this attempt, its inputs are linked by the plugin's own
      // write, which follows the evaluation runs in the plugin's queue: dependencies are inferred
      // when an input is first linked, so linking them here, before those runs reach the store,
      // would freeze a run without its edges to the evaluations.
      const traced = addMetadata({
        decision: { outcome: d.outcome, reasons: d.reasons, decisionKey: input.decisionKey },
      });
      // The `decide` run first (the plugin writes the same run key later and the two merge), so the
      // decision can link to it now.
      const run: ComponentRunInput = {
        component: 'decide',
        runKey,
        source: 'temporal',
        status: 'running',
        startedAt: new Date(),
        attempt: info.attempt,
        workflow: {
          namespace: info.namespace,
          ...(info.workflowExecution
            ? { workflowId: info.workflowExecution.workflowId, runId: info.workflowExecution.runId }
            : {}),
          ...(info.workflowType ? { workflowType: info.workflowType } : {}),
          taskQueue: info.taskQueue,
        },
        inputs: traced ? [] : decideInputs(input),
        outputs: [{ ...pointer, type: 'unknown' }],
        metadata: { decision: input.decision, decisionKey: input.decisionKey, data: input.data },
      };
      // Logged as running, then succeeded: without the plugin the run still ends right.
      await lineage.logRun(run);
      await lineage.recordPromotionDecision({
        decisionKey: input.decisionKey,
        model: d.model,
        candidate: d.candidate,
        previousChampion: d.previousChampion,
        alias: d.alias,
        decision: d.outcome,
        policy: d.policy as unknown as Record<string, unknown>,
        metrics: {
          ...d.metrics,
          checks: d.checks,
          data: { uri: input.data.uri, version: input.data.version, commit: input.data.commit },
        },
        reasons: d.reasons,
        approver: d.approver,
        approvalComment: d.approvalComment,
        runKey,
        decidedAt,
      });
      await lineage.logRun({ ...run, status: 'succeeded', endedAt: new Date() });
      return { decisionKey: input.decisionKey, pointer, runKey };
    },
    {
      name: 'decide',
      inputs: decideInputs,
      outputs: (result) => [{ ...result.pointer, type: 'unknown' }],
    },
  );

  const retrainingPromote = component(
    async function retrainingPromote(input: Parameters<RetrainingActivities['retrainingPromote']>[0]) {
      let previous: string | null = null;
      try {
        previous = (await mlflow.getModelVersionByAlias(input.model, input.alias)).version;
      } catch (error) {
        if (!(isMlflowError(error) && (error.status === 400 || error.status === 404))) throw error;
      }
      // A retry after the alias moved here is a success; a move by someone else is not overridden.
      if (previous !== input.version && previous !== input.expectedPrevious) {
        throw ApplicationFailure.create({
          type: 'AliasMovedError',
          nonRetryable: true,
          message: `${modelAliasUri(input.model, input.alias)} moved to version ${previous} after the decision (which saw ${
            input.expectedPrevious ?? 'no champion'
          }): not overriding it`,
        });
      }
      if (previous !== input.version) {
        await mlflow.setRegisteredModelAlias(input.model, input.alias, input.version);
      }
      await mlflow.setModelVersionTag(
        input.model,
        input.version,
        'mltrace.decision',
        `${input.decision.uri}@${input.decision.version}`,
      );
      return {
        model: input.model,
        alias: input.alias,
        version: input.version,
        previous: previous === input.version ? input.expectedPrevious : previous,
      };
    },
    {
      name: 'promote',
      inputs: (input) => [
        { uri: modelVersionUri(input.model, input.version), type: 'model' },
        { ...input.decision, type: 'unknown' },
      ],
      outputs: (result) => [
        { uri: modelAliasUri(result.model, result.alias), version: result.version, type: 'model' },
      ],
    },
  );

  return {
    retrainingPinData,
    retrainingFindChampion,
    retrainingCheckDrift,
    retrainingTrain,
    retrainingRegister,
    retrainingEvaluate,
    retrainingRecordDecision,
    retrainingPromote,
  };
}

/** A dataset reference for a file, with its md5 (what registration logs for prepared datasets: MLflow digests hold at most 36 characters). */
export async function describeDataset(name: string, path: string): Promise<DatasetRef> {
  return { name, uri: fileUri(path), digest: await fileDigest(localPathOf(path), 'md5') };
}
