/** A TypeScript activity that a Python workflow calls (tests/python/pyworkflows.py). */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function tsTrain(featuresPath: string, outDir: string): Promise<string> {
  const model = join(outDir, 'model-ts.pkl');
  await writeFile(model, `trained on ${(await readFile(featuresPath, 'utf8')).length} bytes`);
  return model;
}
