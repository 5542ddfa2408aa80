import { describe, expect, it } from 'vitest';
import { renderTree } from '../../src/render/tree.js';

interface N {
  name: string;
  notes?: string[];
  kids?: N[];
}

const expand = (node: N) => ({
  label: node.name,
  ...(node.notes ? { notes: node.notes } : {}),
  ...(node.kids ? { children: node.kids } : {}),
});

describe('renderTree', () => {
  it("draws mltrace's connectors, with notes under their node", () => {
    const tree: N = {
      name: 'train',
      notes: ['⚠ stale'],
      kids: [
        { name: 'model.pkl' },
        {
          name: 'featuregen',
          kids: [{ name: 'features.csv' }, { name: 'clean', kids: [{ name: 'clean.csv' }] }],
        },
        { name: 'split', notes: ['⚠ old'] },
      ],
    };
    expect(renderTree([tree], expand)).toEqual([
      'train',
      '│  ⚠ stale',
      '├─ model.pkl',
      '├─ featuregen',
      '│  ├─ features.csv',
      '│  └─ clean',
      '│     └─ clean.csv',
      '└─ split',
      '      ⚠ old',
    ]);
  });

  it('renders a 10,000-node chain without overflowing the stack', () => {
    let node: N = { name: 'n0' };
    for (let i = 1; i < 10_000; i++) node = { name: `n${i}`, kids: [node] };
    const lines = renderTree([node], expand);
    expect(lines).toHaveLength(10_000);
    expect(lines[9_999]?.trim()).toBe('└─ n0');
  });
});
