import { describe, expect, it } from 'vitest';
import { type ChainRun, chainTree } from '../src/explain.js';

function run(
  id: number,
  component: string,
  depth: number,
  dependsOn: number[],
  outputs: string[] = [],
): ChainRun {
  return {
    id,
    runKey: `k${id}`,
    component,
    source: component.startsWith('dvc') ? 'dvc' : 'temporal',
    status: 'succeeded',
    startedAt: new Date(Date.UTC(2024, 0, 1, 0, id)),
    gitCommit: null,
    depth,
    outputs,
    dependsOn,
  };
}

describe('the chain of `mltrace why`, as a tree that reads as the graph', () => {
  // The demo's shape: featuregen read both the cleaned data and the pinned data version, so the
  // pin step has two dependents; nearest-first by depth put featuregen right under `dvc add`.
  const chain = [
    run(7, 'promote', 0, [6], ['models:/taxi@champion@1']),
    run(6, 'train', 1, [5]),
    run(5, 'featuregen', 2, [4, 3]),
    run(4, 'cleaning', 3, [3]),
    run(3, 'pin-data', 3, [1]),
    run(1, 'dvc add data/trips.csv', 4, [], ['file:///d/trips.csv@91b3']),
  ];

  it('puts each run under the run that used it and prints a shared ancestor once, then refers to it', () => {
    expect(chainTree(chain)).toEqual([
      'promote #7 [temporal, succeeded] -> models:/taxi@champion@1',
      '└─ train #6 [temporal, succeeded]',
      '   └─ featuregen #5 [temporal, succeeded]',
      '      ├─ cleaning #4 [temporal, succeeded]',
      '      │  └─ pin-data #3 [temporal, succeeded]',
      '      │     └─ dvc add data/trips.csv #1 [dvc, succeeded] -> file:///d/trips.csv@91b3',
      '      └─ pin-data #3 (see above)',
    ]);
  });

  it('still lists a run that no root reaches (a walk cut short) instead of dropping it', () => {
    const lines = chainTree([run(2, 'promote', 0, []), run(9, 'orphan', 3, [])]);
    expect(lines).toEqual(['promote #2 [temporal, succeeded]', 'orphan #9 [temporal, succeeded]']);
  });
});
