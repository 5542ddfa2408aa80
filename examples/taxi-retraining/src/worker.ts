/**
 * The example's Temporal worker: the retraining workflow, its activities (with the taxi training
 * and evaluation) and the taxi prepare steps, with the mltrace plugin so every activity attempt is
 * a ComponentRun.
 * @module
 */
import type { Logger } from '@mltrace/core';
import type { MlflowClient } from '@mltrace/mlflow';
import { createRetrainingActivities, retrainingWorkflowsPath } from '@mltrace/retraining';
import type { LineageStore } from '@mltrace/store';
import type { MltracePlugin } from '@mltrace/temporal';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { evaluateTaxiModel, taxiActivities, trainTaxiModel } from './taxi.js';
import { toolCommand } from './tools.js';

/** Options of {@link createTaxiWorker}. */
export interface TaxiWorkerOptions {
  connection: NativeConnection;
  taskQueue: string;
  store: LineageStore;
  mlflow: MlflowClient;
  /** The mltrace plugin (built on the same store). */
  plugin: MltracePlugin;
  /** Pinned data copies, pipeline files and downloaded models. */
  workDir: string;
  /** @default 'default' */
  namespace?: string;
  /** Environment of `dvc`. @default process.env */
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

/** Creates the worker (call `run()` on it). */
export async function createTaxiWorker(options: TaxiWorkerOptions): Promise<Worker> {
  const env = options.env ?? process.env;
  const activities = {
    ...createRetrainingActivities({
      store: options.store,
      mlflow: options.mlflow,
      workDir: options.workDir,
      train: trainTaxiModel,
      evaluate: evaluateTaxiModel,
      dvcCommand: toolCommand('dvc', env),
      env,
      ...(options.logger ? { logger: options.logger } : {}),
    }),
    ...taxiActivities,
  };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    workflowsPath: retrainingWorkflowsPath(),
    activities,
    plugins: [options.plugin],
  });
}
