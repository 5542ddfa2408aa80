import { describe, expect, it } from 'vitest';
import { parseRunId } from '../src/training-command.js';

const ID = '0123456789abcdef0123456789abcdef';

describe('parseRunId', () => {
  it('reads the run id a training command prints, in the plain or the JSON form', () => {
    expect(parseRunId(`epoch 1\nMLFLOW_RUN_ID=${ID}\n`)).toBe(ID);
    expect(parseRunId(`mlflow run id: ${ID}`)).toBe(ID);
    expect(parseRunId(`{"step": 3}\n{"mlflow_run_id": "${ID}", "f1": 0.7}\n`)).toBe(ID);
  });

  it('takes the last one printed, and nothing that is not a 32-hex id', () => {
    const other = 'ffffffffffffffffffffffffffffffff';
    expect(parseRunId(`MLFLOW_RUN_ID=${ID}\nretrying\nMLFLOW_RUN_ID=${other}`)).toBe(other);
    expect(parseRunId('MLFLOW_RUN_ID=not-an-id\n{"run_id": 42}')).toBeUndefined();
    expect(parseRunId('')).toBeUndefined();
  });
});
