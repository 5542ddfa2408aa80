/** A TypeScript workflow whose activities run on a Python worker (tests/python/worker.py). */
import { proxyActivities } from '@temporalio/workflow';

interface PythonActivities {
  featurize(rawPath: string, outDir: string): Promise<{ features_path: string; rows: number }>;
  train(featuresPath: string, outDir: string): Promise<string>;
}

export async function trainInPython(rawPath: string, outDir: string, pythonQueue: string): Promise<string> {
  const { featurize, train } = proxyActivities<PythonActivities>({
    taskQueue: pythonQueue,
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '50 milliseconds', maximumAttempts: 3 },
  });
  const { features_path } = await featurize(rawPath, outDir);
  return train(features_path, outDir);
}
